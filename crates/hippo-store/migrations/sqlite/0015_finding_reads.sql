-- The patient's "new" mark: a released finding is new until its patient's
-- account has read it, which the audit log already records. This partial
-- index holds only successful finding reads, so the check per listed
-- finding is one index probe and other records pay nothing for it.
CREATE INDEX audit_finding_reads ON audit_records (resource_id, actor_id)
    WHERE action = 'finding_read' AND outcome = 'success';
