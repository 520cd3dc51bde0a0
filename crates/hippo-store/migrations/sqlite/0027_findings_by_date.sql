-- A staff search over the whole facility (FHIR `DiagnosticReport?` and
-- `Observation?` without a patient) orders the tenant's findings by their
-- date, released else created. Without an index on that expression every
-- page sorted all of the tenant's findings (5,000 in the benchmark: p50
-- 637 ms at 64 clients); with it a page is an index range read newest or
-- oldest first, stopped at the page's end.
CREATE INDEX findings_by_date ON findings (tenant_id, (COALESCE(released_at, created_at)) DESC, id);
