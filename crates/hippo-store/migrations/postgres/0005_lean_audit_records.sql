-- Leaner audit records (issue 9): see the SQLite migration of the same
-- name. `canonical` is re-made from the columns by verify; the claim index
-- keeps only the rare records of actors without a claim.
DROP INDEX audit_by_claim;
CREATE INDEX audit_unclaimed ON audit_records (at) WHERE claim = 'none';
ALTER TABLE audit_records DROP COLUMN canonical;
