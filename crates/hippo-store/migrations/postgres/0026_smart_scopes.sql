-- SMART-style scopes (issue 13): a session token minted for a narrower
-- purpose, and an API key limited by its creator, carry the granted scope
-- string (`patient/DiagnosticReport.read ...`). NULL: the full rights of
-- the principal, as before.
ALTER TABLE sessions ADD COLUMN scopes TEXT;
ALTER TABLE api_keys ADD COLUMN scopes TEXT;
