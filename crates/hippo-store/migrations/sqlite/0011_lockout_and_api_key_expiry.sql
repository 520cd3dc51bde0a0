-- The anomaly rule "lockout storm" counts rate-limited login attempts per
-- target account and per client address over its window; a partial index
-- holds just those rare rows, as for the other rules (0005).
CREATE INDEX audit_rate_limited ON audit_records (at) WHERE outcome = 'rate_limited';

-- API keys expire (issue 12): keys made before this get a year from their
-- creation, the default validity of new ones.
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
UPDATE api_keys SET expires_at = created_at + 31536000000;
