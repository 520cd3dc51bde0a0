-- Notification outbox (issue 11); see the SQLite migration 0009 for the
-- states. No health data in this table.

ALTER TABLE tenants ADD COLUMN notify_with_facility_name BIGINT NOT NULL DEFAULT 0;

CREATE TABLE notification_outbox (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL,
    patient_id       TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('finding_released', 'new_message')),
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'unknown', 'sent', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    claim_token      TEXT,
    lease_until      BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT
);
CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at)
    WHERE state IN ('pending', 'unknown');
CREATE INDEX notification_outbox_leased ON notification_outbox (lease_until)
    WHERE state = 'sending';
CREATE INDEX notification_outbox_by_tenant ON notification_outbox (tenant_id);

-- The third fence, as for every tenant table (0004): staff transactions
-- (which write the rows) see their own tenant's only; the sender uses the
-- main pool, whose sessions see all.
ALTER TABLE notification_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_fence ON notification_outbox
    USING (hippo_tenant_visible(tenant_id))
    WITH CHECK (hippo_tenant_visible(tenant_id));
