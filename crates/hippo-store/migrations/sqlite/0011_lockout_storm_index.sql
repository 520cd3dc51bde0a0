-- The anomaly rule "lockout storm" counts rate-limited login attempts per
-- target account and per client address over its window; a partial index
-- holds just those rare rows, as for the other rules (0005).
CREATE INDEX audit_rate_limited ON audit_records (at) WHERE outcome = 'rate_limited';
