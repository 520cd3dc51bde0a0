-- Staff management by tenant admins and the facility's time zone (issue 12
-- points 4 and 6); the same as SQLite's 0019.

ALTER TABLE staff_users ADD COLUMN deactivated_at BIGINT;
ALTER TABLE staff_users ADD COLUMN last_login_at BIGINT;

ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'Europe/Berlin';

CREATE TABLE staff_invitations (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL,
    staff_id    TEXT NOT NULL REFERENCES staff_users (id),
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX staff_invitations_by_staff ON staff_invitations (tenant_id, staff_id);

-- A tenant table like those of 0004: staff transactions write their own
-- tenant's invitations only; the anonymous acceptance runs on the main
-- pool, whose sessions see all.
ALTER TABLE staff_invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE staff_invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_fence ON staff_invitations
    USING (hippo_tenant_visible(tenant_id))
    WITH CHECK (hippo_tenant_visible(tenant_id));

-- The outbox carries staff invitations too (no patient; the link's token
-- until the mail is sent). The kind is checked by the code that reads it.
ALTER TABLE notification_outbox DROP CONSTRAINT IF EXISTS notification_outbox_kind_check;
ALTER TABLE notification_outbox ALTER COLUMN patient_id DROP NOT NULL;
ALTER TABLE notification_outbox ADD COLUMN link_token TEXT;
