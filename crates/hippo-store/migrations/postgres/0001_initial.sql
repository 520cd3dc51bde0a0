-- Hippo schema, PostgreSQL flavour (same tables, columns and meaning as
-- migrations/sqlite; only types, triggers and case-insensitive e-mail differ). Every table holding tenant data carries
-- tenant_id so that scoped queries can filter on it directly.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('lab', 'practice', 'test_centre')),
    -- Whether patients see staff names in their access history.
    show_staff_names_to_patients BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);

CREATE TABLE staff_users (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    email          TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('tenant_admin', 'clinician', 'assistant')),
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

-- The vendor's on-call staff: tenant metadata, never patient data.
CREATE TABLE operators (
    id             TEXT PRIMARY KEY NOT NULL,
    email          TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

-- Lab-system keys, shown once; only the SHA-256 of the secret is kept.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    name        TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    created_by  TEXT NOT NULL REFERENCES staff_users (id),
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);

-- A person who logs in as a patient; linked to one patient record per tenant.
CREATE TABLE accounts (
    id             TEXT PRIMARY KEY NOT NULL,
    email          TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE patients (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    given_name   TEXT NOT NULL,
    family_name  TEXT NOT NULL,
    birth_date   TEXT NOT NULL,
    -- A decoy record: any access to it raises an alert.
    honeytoken   BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE INDEX patients_by_tenant ON patients (tenant_id, family_name, given_name);

CREATE TABLE account_patients (
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    tenant_id   TEXT NOT NULL,
    patient_id  TEXT NOT NULL,
    PRIMARY KEY (account_id, patient_id),
    UNIQUE (account_id, tenant_id),
    UNIQUE (patient_id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
);

CREATE TABLE findings (
    id            TEXT PRIMARY KEY NOT NULL,
    tenant_id     TEXT NOT NULL,
    patient_id    TEXT NOT NULL,
    title         TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('draft', 'released', 'retracted')),
    -- The staff member or lab-system key that submitted it.
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    released_at   BIGINT,
    retracted_at  BIGINT,
    pdf_size      BIGINT NOT NULL,
    pdf_sha256    TEXT NOT NULL,
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
);
CREATE INDEX findings_by_patient ON findings (tenant_id, patient_id, status, created_at);

-- PDFs live in the database for now: written in the same transaction as
-- their finding, so an upload is all or nothing.
CREATE TABLE finding_pdfs (
    finding_id  TEXT PRIMARY KEY NOT NULL REFERENCES findings (id),
    tenant_id   TEXT NOT NULL,
    bytes       BYTEA NOT NULL
);

CREATE TABLE observations (
    finding_id      TEXT NOT NULL REFERENCES findings (id),
    position        BIGINT NOT NULL,
    tenant_id       TEXT NOT NULL,
    code            TEXT NOT NULL,
    display         TEXT NOT NULL,
    value_numeric   DOUBLE PRECISION,
    value_text      TEXT,
    unit            TEXT,
    reference_low   DOUBLE PRECISION,
    reference_high  DOUBLE PRECISION,
    flag            TEXT NOT NULL CHECK (flag IN ('N', 'L', 'H', 'A')),
    PRIMARY KEY (finding_id, position),
    CHECK ((value_numeric IS NULL) <> (value_text IS NULL))
);

-- Only a hash of the session token is stored; the token itself exists only
-- in the client's cookie or Authorization header.
CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY NOT NULL,
    staff_id      TEXT REFERENCES staff_users (id),
    account_id    TEXT REFERENCES accounts (id),
    operator_id   TEXT REFERENCES operators (id),
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    CHECK (num_nonnulls(staff_id, account_id, operator_id) = 1)
);

-- Append-only Merkle log. `seq` is the record's position (from 1, no gaps)
-- and never leaves the server; `id` is the public identifier; `canonical`
-- is the exact byte encoding hashed into the log, `leaf_hash` its RFC 9162
-- leaf hash.
CREATE FUNCTION hippo_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% are append-only', TG_TABLE_NAME;
END;
$$;

CREATE TABLE audit_records (
    seq              BIGINT PRIMARY KEY NOT NULL,
    id               TEXT NOT NULL UNIQUE,
    at               BIGINT NOT NULL,
    actor_kind       TEXT NOT NULL,
    actor_id         TEXT,
    actor_tenant_id  TEXT,
    action           TEXT NOT NULL,
    resource_kind    TEXT NOT NULL,
    resource_id      TEXT,
    patient_id       TEXT,
    tenant_id        TEXT,
    outcome          TEXT NOT NULL,
    detail           TEXT,
    request_id       TEXT NOT NULL,
    route            TEXT,
    client_addr      TEXT,
    user_agent       TEXT,
    build            TEXT NOT NULL,
    -- The actor's claim to the patient's data when the record was written:
    -- 'own' (the patient's account), 'tenant' (staff or lab system of the
    -- patient's facility), 'system', 'none', or 'n/a' (no patient).
    -- Part of the canonical encoding, so it cannot be edited unseen.
    claim            TEXT NOT NULL,
    canonical        BYTEA NOT NULL,
    leaf_hash        BYTEA NOT NULL
);
CREATE INDEX audit_by_patient ON audit_records (patient_id, at);
CREATE INDEX audit_by_actor ON audit_records (actor_id, at);
CREATE INDEX audit_by_tenant ON audit_records (tenant_id, at);
CREATE INDEX audit_by_action ON audit_records (action, at);
CREATE INDEX audit_by_build ON audit_records (build, at);
CREATE INDEX audit_by_route ON audit_records (route, at);
CREATE INDEX audit_by_time ON audit_records (at);
CREATE INDEX audit_by_claim ON audit_records (claim, at);

CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION hippo_append_only();

CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION hippo_append_only();

-- Signed tree heads: "the log had `size` records with root `root`".
-- The key that signed them comes from configuration, never from here;
-- `public_key` only tells which configured key to check against.
CREATE TABLE tree_heads (
    size        BIGINT PRIMARY KEY NOT NULL,
    root        BYTEA NOT NULL,
    issued_at   BIGINT NOT NULL,
    signature   BYTEA NOT NULL,
    public_key  TEXT NOT NULL
);

CREATE TRIGGER tree_heads_no_update BEFORE UPDATE ON tree_heads
    FOR EACH ROW EXECUTE FUNCTION hippo_append_only();

CREATE TRIGGER tree_heads_no_delete BEFORE DELETE ON tree_heads
    FOR EACH ROW EXECUTE FUNCTION hippo_append_only();

-- Alerts raised by the anomaly rules; `dedup_key` keeps one alert per rule,
-- subject and window.
CREATE TABLE alerts (
    id          TEXT PRIMARY KEY NOT NULL,
    rule        TEXT NOT NULL,
    raised_at   BIGINT NOT NULL,
    actor       TEXT,
    tenant_id   TEXT,
    patient_id  TEXT,
    first_at    BIGINT NOT NULL,
    last_at     BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    detail      TEXT NOT NULL,
    dedup_key   TEXT NOT NULL UNIQUE
);
CREATE INDEX alerts_by_time ON alerts (raised_at);

-- Incidents: detection time, the GDPR Art. 33 deadline (72 hours), the
-- forensic query that bounds them, and the affected tenants and patients
-- taken from it.
CREATE TABLE incidents (
    id           TEXT PRIMARY KEY NOT NULL,
    title        TEXT NOT NULL,
    detected_at  BIGINT NOT NULL,
    deadline_at  BIGINT NOT NULL,
    query        TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE incident_events (
    incident_id  TEXT NOT NULL REFERENCES incidents (id),
    at           BIGINT NOT NULL,
    text         TEXT NOT NULL
);

CREATE TABLE incident_affected (
    incident_id  TEXT NOT NULL REFERENCES incidents (id),
    tenant_id    TEXT NOT NULL,
    patient_id   TEXT NOT NULL,
    accesses     BIGINT NOT NULL,
    first_at     BIGINT NOT NULL,
    last_at      BIGINT NOT NULL,
    PRIMARY KEY (incident_id, patient_id)
);


-- E-mail addresses are unique regardless of case (SQLite: COLLATE NOCASE).
CREATE UNIQUE INDEX staff_users_email ON staff_users (lower(email));
CREATE UNIQUE INDEX operators_email ON operators (lower(email));
CREATE UNIQUE INDEX accounts_email ON accounts (lower(email));
