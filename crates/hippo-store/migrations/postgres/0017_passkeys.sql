-- WebAuthn passkeys (issue 12 point 1). A login subject (staff member,
-- patient account or operator) may have several; each row keeps the
-- webauthn-rs `Passkey` as JSON (public key, credential ID, signature
-- counter: no secret), which the server updates after every use so that
-- the counter check can notice a cloned authenticator.
CREATE TABLE passkeys (
    id              TEXT PRIMARY KEY NOT NULL,
    subject_id      TEXT NOT NULL,
    -- base64url of the credential ID: one credential belongs to one subject.
    credential_id   TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    passkey_json    TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT
);
CREATE INDEX passkeys_by_subject ON passkeys (subject_id);

-- A ceremony in flight: the server-side state between a challenge and its
-- finish. `owner_hash` is the SHA-256 of the session token (registration)
-- or of the pending-login token (login) that started it, so no other
-- session or pending login can finish it. Finishing deletes the row in one
-- statement (DELETE ... RETURNING): a challenge is answered at most once.
CREATE TABLE passkey_ceremonies (
    purpose      TEXT NOT NULL CHECK (purpose IN ('register', 'login')),
    owner_hash   TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    state_json   TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (purpose, owner_hash)
);
