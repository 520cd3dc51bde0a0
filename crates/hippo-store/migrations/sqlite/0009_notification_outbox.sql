-- Notification outbox (issue 11). A row is written in the same transaction
-- as the event it announces (a finding's release, a new message), so a
-- committed event always has its notification and a rolled-back one none.
-- The sender claims due rows, sends them over SMTP and marks them sent.
-- The table holds no health data: who gets a mail, which kind of event,
-- whose it is (IDs), and delivery bookkeeping. The mail's text is made at
-- send time and says nothing but "log in".

-- Whether the notification names the facility (default: it does not, since
-- even a practice's name can say something about a patient's health).
ALTER TABLE tenants ADD COLUMN notify_with_facility_name INTEGER NOT NULL DEFAULT 0;

CREATE TABLE notification_outbox (
    -- Random UUID: the idempotency key, sent as the mail's Message-ID.
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL,
    patient_id       TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('finding_released', 'new_message')),
    -- pending: due at next_attempt_at; sending: claimed by a sender until
    -- lease_until; unknown: a sender's lease ran out mid-send (the mail may
    -- or may not have gone out; it is sent again with the same Message-ID);
    -- sent; failed: gave up after the last attempt (operators see a count).
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'unknown', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    claim_token      TEXT,
    lease_until      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER
);
-- The sender's two questions: which rows are due, which leases ran out.
CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at)
    WHERE state IN ('pending', 'unknown');
CREATE INDEX notification_outbox_leased ON notification_outbox (lease_until)
    WHERE state = 'sending';
CREATE INDEX notification_outbox_by_tenant ON notification_outbox (tenant_id);
