-- Second factors (issue 12 point 1). One TOTP factor per login subject
-- (staff member, patient account or operator: their IDs are random UUIDs
-- of one namespace). The secret is sealed with its own data key, which is
-- wrapped under the master key and bound to the subject, like tenant data
-- keys: a database dump alone opens nothing.
CREATE TABLE totp_factors (
    id              TEXT PRIMARY KEY NOT NULL,
    subject_id      TEXT NOT NULL UNIQUE,
    master_key_id   TEXT NOT NULL,
    wrapped_key     BLOB NOT NULL,
    sealed_secret   BLOB NOT NULL,
    -- NULL while the enrolment awaits its first code.
    confirmed_at    INTEGER,
    -- The last accepted time step: a step is never accepted twice, and the
    -- claim is one conditional UPDATE, so concurrent submissions of one
    -- code cannot both pass.
    last_used_step  INTEGER,
    created_at      INTEGER NOT NULL
);

-- A password that was right, waiting for its second factor. Only the
-- SHA-256 of the token is kept; no session exists until the code is right.
CREATE TABLE pending_logins (
    token_hash       TEXT PRIMARY KEY NOT NULL,
    subject_kind     TEXT NOT NULL CHECK (subject_kind IN ('staff', 'account', 'operator')),
    subject_id       TEXT NOT NULL,
    failed_attempts  INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
);

-- Single-use recovery codes, stored as SHA-256 (they are 128-bit random).
CREATE TABLE recovery_codes (
    subject_id  TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER,
    PRIMARY KEY (subject_id, code_hash)
);
