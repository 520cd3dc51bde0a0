-- HL7 v2 intake (issue 13); the same tables as SQLite's 0025, tenant
-- tables under row-level security like those of 0004.
CREATE TABLE patient_identifiers (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    authority   TEXT NOT NULL,
    value       TEXT NOT NULL,
    patient_id  TEXT NOT NULL REFERENCES patients (id),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, authority, value)
);
CREATE INDEX patient_identifiers_by_patient ON patient_identifiers (tenant_id, patient_id);

CREATE TABLE hl7_messages (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    control_id   TEXT NOT NULL,
    patient_id   TEXT NOT NULL REFERENCES patients (id),
    findings     BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, control_id)
);

DO $$
DECLARE
    fenced TEXT;
BEGIN
    FOREACH fenced IN ARRAY ARRAY['patient_identifiers', 'hl7_messages'] LOOP
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
