-- Service switches (issue 11): which service is off where, with the
-- operator's reason (internal) and message (shown to users). One row per
-- service and scope; `scope` is '*' for everywhere, else the tenant ID.
-- The history of changes is the audit log (every change is recorded there
-- in the change's own transaction).
CREATE TABLE service_switches (
    service TEXT NOT NULL,
    scope TEXT NOT NULL,
    tenant_id TEXT REFERENCES tenants (id),
    state TEXT NOT NULL CHECK (state IN ('on', 'off')),
    reason TEXT NOT NULL,
    user_message TEXT,
    changed_by TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (service, scope)
);

-- Four-eyes: a request to turn a service back on everywhere, waiting for
-- a second operator.
CREATE TABLE service_switch_requests (
    service TEXT NOT NULL,
    scope TEXT NOT NULL,
    tenant_id TEXT REFERENCES tenants (id),
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    PRIMARY KEY (service, scope)
);

-- Bumped by every change: instances poll this one row and reread the
-- switches only when it moved.
CREATE TABLE service_switch_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO service_switch_version (id, version) VALUES (1, 0);
