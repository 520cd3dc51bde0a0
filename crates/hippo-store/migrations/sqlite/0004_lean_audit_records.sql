-- Leaner audit records (issue 9: storage per record and append cost).
--
-- `canonical` held each record's exact encoding (~450 bytes, a third of
-- the record). It is re-made from the columns by `hippo audit verify`,
-- whose leaf hash must equal the stored `leaf_hash`, which the signed tree
-- heads bind; so the column added bytes and write work, not evidence.
--
-- The claim index served one question only, accesses by someone with no
-- claim (`claim = 'none'`), which are rare: a partial index holds just
-- those instead of an entry for every record.
DROP INDEX audit_by_claim;
CREATE INDEX audit_unclaimed ON audit_records (at) WHERE claim = 'none';
ALTER TABLE audit_records DROP COLUMN canonical;
