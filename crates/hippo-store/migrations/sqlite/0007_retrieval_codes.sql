-- Retrieval codes (issue 11): a person without an account fetches one
-- released finding with a printed code and their date of birth. Only a
-- hash of the code is stored; `failed_attempts` is counted here, with a
-- conditional UPDATE, so that the limit holds across instances.
CREATE TABLE retrieval_codes (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL,
    finding_id       TEXT NOT NULL REFERENCES findings (id),
    code_hash        TEXT NOT NULL UNIQUE,
    created_by       TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    revoked_at       INTEGER,
    max_attempts     INTEGER NOT NULL CHECK (max_attempts > 0),
    failed_attempts  INTEGER NOT NULL DEFAULT 0
        CHECK (failed_attempts >= 0 AND failed_attempts <= max_attempts),
    last_used_at     INTEGER
);
CREATE INDEX retrieval_codes_by_finding ON retrieval_codes (tenant_id, finding_id, created_at);

-- One-time PDF links handed out after a successful retrieval: a random
-- token (hashed), used once, valid for minutes.
CREATE TABLE retrieval_pdf_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    code_id     TEXT NOT NULL REFERENCES retrieval_codes (id),
    tenant_id   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX retrieval_pdf_tokens_by_code ON retrieval_pdf_tokens (code_id);
