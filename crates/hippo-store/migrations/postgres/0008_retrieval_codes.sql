-- Retrieval codes (issue 11); the same tables as SQLite's 0007. Both are
-- tenant tables under row-level security like those of 0004. The
-- anonymous lookup by code hash runs on the main pool, whose sessions are
-- set to all tenants (`*`); staff handles see their own tenant's codes only.
CREATE TABLE retrieval_codes (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL,
    finding_id       TEXT NOT NULL REFERENCES findings (id),
    code_hash        TEXT NOT NULL UNIQUE,
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    revoked_at       BIGINT,
    max_attempts     BIGINT NOT NULL CHECK (max_attempts > 0),
    failed_attempts  BIGINT NOT NULL DEFAULT 0
        CHECK (failed_attempts >= 0 AND failed_attempts <= max_attempts),
    last_used_at     BIGINT
);
CREATE INDEX retrieval_codes_by_finding ON retrieval_codes (tenant_id, finding_id, created_at);

CREATE TABLE retrieval_pdf_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    code_id     TEXT NOT NULL REFERENCES retrieval_codes (id),
    tenant_id   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX retrieval_pdf_tokens_by_code ON retrieval_pdf_tokens (code_id);

DO $$
DECLARE
    fenced TEXT;
BEGIN
    FOREACH fenced IN ARRAY ARRAY['retrieval_codes', 'retrieval_pdf_tokens'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', fenced);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', fenced);
        EXECUTE format(
            'CREATE POLICY tenant_fence ON %I USING (hippo_tenant_visible(tenant_id)) '
            'WITH CHECK (hippo_tenant_visible(tenant_id))',
            fenced
        );
    END LOOP;
END;
$$;
