-- Envelope encryption and blob storage (issue 5).

-- Each tenant's data key, only ever wrapped under a master key from
-- configuration. Crypto-shredding sets `wrapped` to NULL.
CREATE TABLE tenant_keys (
    tenant_id      TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id),
    master_key_id  TEXT,
    wrapped        BYTEA,
    created_at     BIGINT NOT NULL,
    rewrapped_at   BIGINT,
    destroyed_at   BIGINT,
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL)),
    CHECK ((wrapped IS NULL) = (master_key_id IS NULL))
);

-- Sealed blobs in the object store, by object. A row is written in the
-- same transaction as the object it belongs to, after the blob itself.
CREATE TABLE blobs (
    name         TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    kind         TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    sealed_size  BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (tenant_id, kind, object_id)
);

-- A deleted tenant keeps its rows (the audit log refers to them) but its
-- data key is destroyed and nobody can sign in to it.
ALTER TABLE tenants ADD COLUMN deleted_at BIGINT;

-- PDFs no longer live in the database. Rows of `finding_pdfs` from before
-- this migration are sealed into the blob store when the server first
-- starts with a master key, then removed; the table stays empty.
