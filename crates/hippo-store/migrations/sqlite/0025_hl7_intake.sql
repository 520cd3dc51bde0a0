-- HL7 v2 intake (issue 13). A patient's identifiers as labs send them
-- (PID-3: value and assigning authority), unique per tenant, so that a
-- lab's next message finds the same record; and the control IDs (MSH-10)
-- of accepted messages, so that a resend (a lost ACK) stores nothing twice.
CREATE TABLE patient_identifiers (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    authority   TEXT NOT NULL,
    value       TEXT NOT NULL,
    patient_id  TEXT NOT NULL REFERENCES patients (id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, authority, value)
);
CREATE INDEX patient_identifiers_by_patient ON patient_identifiers (tenant_id, patient_id);

CREATE TABLE hl7_messages (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    control_id   TEXT NOT NULL,
    patient_id   TEXT NOT NULL REFERENCES patients (id),
    findings     INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, control_id)
);
