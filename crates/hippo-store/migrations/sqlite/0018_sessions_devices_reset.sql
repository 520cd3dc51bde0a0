-- Issue 12: a list of one's own sessions, mail on a login from a new
-- device, password reset by e-mail.
--
-- A session is shown and revoked by a random public ID, never by its token
-- or the token's hash. Sessions from before this migration get one here.
-- The device label (browser family and OS) and the shortened client
-- network are what the list shows; the full User-Agent is not kept.
ALTER TABLE sessions ADD COLUMN public_id TEXT;
UPDATE sessions SET public_id = lower(hex(randomblob(16))) WHERE public_id IS NULL;
CREATE UNIQUE INDEX sessions_public_id ON sessions (public_id);
ALTER TABLE sessions ADD COLUMN device_label TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN client_network TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_by_staff ON sessions (staff_id);
CREATE INDEX sessions_by_account ON sessions (account_id);
CREATE INDEX sessions_by_operator ON sessions (operator_id);

-- Devices a login subject (staff member, account, operator: their IDs are
-- UUIDs, unique across kinds) has logged in from: the SHA-256 of the
-- browser's `hippo_device` cookie, or for API logins of User-Agent and
-- client network.
CREATE TABLE known_devices (
    subject_id     TEXT NOT NULL,
    device_hash    TEXT NOT NULL,
    first_seen_at  INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    PRIMARY KEY (subject_id, device_hash)
);

-- Password reset tokens: only the SHA-256 of the 256-bit token is kept.
-- `used_at` is set by the one conditional UPDATE that redeems the token.
CREATE TABLE password_resets (
    token_hash    TEXT PRIMARY KEY NOT NULL,
    subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('staff', 'account')),
    subject_id    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
);
CREATE INDEX password_resets_by_subject ON password_resets (subject_id, created_at);

-- Mails about one's own account (new device, password reset): not tied to
-- a tenant or a patient record, so apart from the notification outbox.
-- The text is made at enqueue time in the person's language; it carries
-- no health data. A reset mail's body holds the link with the token, so
-- the body is blanked once the mail is sent.
CREATE TABLE account_mail_outbox (
    id               TEXT PRIMARY KEY NOT NULL,
    subject_id       TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('new_device', 'password_reset')),
    mail_subject     TEXT NOT NULL,
    body             TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    claim_token      TEXT,
    lease_until      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER
);
CREATE INDEX account_mail_outbox_due ON account_mail_outbox (next_attempt_at)
    WHERE state = 'pending';
