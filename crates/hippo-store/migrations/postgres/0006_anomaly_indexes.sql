-- Indexes for the anomaly watcher's rules, which run every few seconds
-- over a ten-minute window (issue 9: each scan read the whole window, over
-- a second at 1,000 records/s, on the server's own core). Each rule now
-- reads only its own, rare records: the decoy patients, refused lookups,
-- malformed identifiers. Partial indexes hold just those rows.
CREATE INDEX patients_honeytokens ON patients (id) WHERE honeytoken = 1;
CREATE INDEX audit_refused ON audit_records (at) WHERE outcome IN ('denied', 'not_found', 'probing');
CREATE INDEX audit_malformed ON audit_records (at) WHERE detail = 'malformed_id';
