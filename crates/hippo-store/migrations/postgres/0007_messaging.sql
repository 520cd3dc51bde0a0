-- Messaging (issue 11): threads between a facility and one of its patient
-- records, messages both ways, attachments. Subjects, bodies and file
-- names are sealed with the tenant's data key (bound to the object's ID);
-- attachment bytes are sealed blobs like finding PDFs.

CREATE TABLE threads (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    patient_id       TEXT NOT NULL,
    subject_sealed   BYTEA NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('open', 'closed', 'retracted')),
    -- A staff member of the same tenant (checked on assignment).
    assigned_to      TEXT REFERENCES staff_users (id),
    created_by_side  TEXT NOT NULL CHECK (created_by_side IN ('staff', 'patient')),
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    last_message_at  BIGINT NOT NULL,
    message_count    BIGINT NOT NULL DEFAULT 0,
    -- Messages of the other side not yet read by this side.
    staff_unread     BIGINT NOT NULL DEFAULT 0,
    patient_unread   BIGINT NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
);
-- The staff inbox, newest first, by status, by assignee, unread only;
-- a patient's threads at one facility.
CREATE INDEX threads_inbox ON threads (tenant_id, status, last_message_at, id);
CREATE INDEX threads_inbox_all ON threads (tenant_id, last_message_at, id);
CREATE INDEX threads_by_assignee ON threads (tenant_id, assigned_to, last_message_at, id);
CREATE INDEX threads_staff_unread ON threads (tenant_id, last_message_at, id) WHERE staff_unread > 0;
CREATE INDEX threads_by_patient ON threads (tenant_id, patient_id, last_message_at, id);

CREATE TABLE messages (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL,
    thread_id    TEXT NOT NULL,
    patient_id   TEXT NOT NULL,
    author_side  TEXT NOT NULL CHECK (author_side IN ('staff', 'patient')),
    author_id    TEXT NOT NULL,
    body_sealed  BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    -- When the other side first opened the thread after this message.
    read_at      BIGINT,
    FOREIGN KEY (tenant_id, thread_id) REFERENCES threads (tenant_id, id)
);
CREATE INDEX messages_by_thread ON messages (tenant_id, thread_id, created_at);

CREATE TABLE message_attachments (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL,
    thread_id    TEXT NOT NULL,
    message_id   TEXT NOT NULL REFERENCES messages (id),
    patient_id   TEXT NOT NULL,
    position     BIGINT NOT NULL,
    -- The kind its bytes were classified as: never the client's claim.
    kind         TEXT NOT NULL CHECK (kind IN ('pdf', 'png', 'jpeg')),
    size         BIGINT NOT NULL,
    name_sealed  BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (message_id, position),
    FOREIGN KEY (tenant_id, thread_id) REFERENCES threads (tenant_id, id)
);
CREATE INDEX attachments_by_thread ON message_attachments (tenant_id, thread_id, message_id, position);

-- The third fence (see 0004): a staff connection sees only its tenant's
-- threads, messages and attachments.
DO $$
DECLARE
    fenced TEXT;
BEGIN
    FOREACH fenced IN ARRAY ARRAY['threads', 'messages', 'message_attachments'] LOOP
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
