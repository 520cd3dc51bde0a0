-- Enrolment of a second factor (issue 12 point 1). Staff and operators
-- without a factor get, for a right password, a pending login that only
-- enrols a factor (`purpose = 'enrolment'`), never one that takes a code.
ALTER TABLE pending_logins ADD COLUMN purpose TEXT NOT NULL DEFAULT 'second_factor'
    CHECK (purpose IN ('second_factor', 'enrolment'));

-- A TOTP seed offered to a subject and waiting for its first right code;
-- sealed like `totp_factors` (same binding, so confirming moves the
-- sealed bytes as they are). One per subject: a new offer replaces it.
-- The seed lives here, server-side, never in a form field.
CREATE TABLE totp_candidates (
    subject_id      TEXT PRIMARY KEY NOT NULL,
    id              TEXT NOT NULL,
    master_key_id   TEXT NOT NULL,
    wrapped_key     BYTEA NOT NULL,
    sealed_secret   BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
