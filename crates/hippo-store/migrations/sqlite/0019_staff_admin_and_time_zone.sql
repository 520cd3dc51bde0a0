-- Staff management by tenant admins and the facility's time zone (issue 12
-- points 4 and 6).

-- A deactivated member cannot log in and has no sessions; the row stays,
-- since findings and audit records name it.
ALTER TABLE staff_users ADD COLUMN deactivated_at INTEGER;
-- When the member last opened a session, for the admin's staff list.
ALTER TABLE staff_users ADD COLUMN last_login_at INTEGER;

-- IANA name; pages of the facility show dates in it.
ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'Europe/Berlin';

-- An invitation to set the first password. Only the SHA-256 of the 256-bit
-- token is kept; it is used once (`used_at`, claimed by one conditional
-- UPDATE) and expires after seven days.
CREATE TABLE staff_invitations (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL,
    staff_id    TEXT NOT NULL REFERENCES staff_users (id),
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX staff_invitations_by_staff ON staff_invitations (tenant_id, staff_id);

-- The outbox carries staff invitations too: they concern no patient, and
-- their mail carries the link's token until it is sent (cleared then).
-- SQLite cannot drop a CHECK or a NOT NULL, so the table is rebuilt; the
-- kind is checked by the code that reads it (`NoticeKind::parse`), so that
-- further kinds need no rebuild.
CREATE TABLE notification_outbox_new (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL,
    patient_id       TEXT,
    recipient        TEXT NOT NULL,
    kind             TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'unknown', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    claim_token      TEXT,
    lease_until      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER,
    link_token       TEXT
);
INSERT INTO notification_outbox_new (id, tenant_id, patient_id, recipient, kind, state, attempts,
    next_attempt_at, claim_token, lease_until, last_error, created_at, sent_at)
    SELECT id, tenant_id, patient_id, recipient, kind, state, attempts, next_attempt_at,
    claim_token, lease_until, last_error, created_at, sent_at FROM notification_outbox;
DROP TABLE notification_outbox;
ALTER TABLE notification_outbox_new RENAME TO notification_outbox;
CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at)
    WHERE state IN ('pending', 'unknown');
CREATE INDEX notification_outbox_leased ON notification_outbox (lease_until)
    WHERE state = 'sending';
CREATE INDEX notification_outbox_by_tenant ON notification_outbox (tenant_id);
