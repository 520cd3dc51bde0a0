-- Row-level security: the third fence (issue 5). Every table holding a
-- tenant's data shows a session only the rows of the tenant in its
-- `hippo.tenant` setting; `*` (set by the main pool for unscoped handles:
-- patients across facilities, provisioning, the audit log) shows all, and
-- no setting shows nothing. Staff handles connect through a pool of their
-- own and set their tenant, so a staff query that forgot its tenant filter
-- still returns nothing of another tenant. FORCE: the policies also bind
-- the tables' owner, which is the role Hippo connects as.
CREATE FUNCTION hippo_tenant_visible(row_tenant TEXT) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('hippo.tenant', true), '') = '*'
        OR row_tenant = current_setting('hippo.tenant', true)
$$;

ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
ALTER TABLE patients FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_fence ON patients
    USING (hippo_tenant_visible(tenant_id)) WITH CHECK (hippo_tenant_visible(tenant_id));

ALTER TABLE findings ENABLE ROW LEVEL SECURITY;
ALTER TABLE findings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_fence ON findings
    USING (hippo_tenant_visible(tenant_id)) WITH CHECK (hippo_tenant_visible(tenant_id));

ALTER TABLE observations ENABLE ROW LEVEL SECURITY;
ALTER TABLE observations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_fence ON observations
    USING (hippo_tenant_visible(tenant_id)) WITH CHECK (hippo_tenant_visible(tenant_id));

ALTER TABLE account_patients ENABLE ROW LEVEL SECURITY;
ALTER TABLE account_patients FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_fence ON account_patients
    USING (hippo_tenant_visible(tenant_id)) WITH CHECK (hippo_tenant_visible(tenant_id));

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_fence ON api_keys
    USING (hippo_tenant_visible(tenant_id)) WITH CHECK (hippo_tenant_visible(tenant_id));

ALTER TABLE staff_users ENABLE ROW LEVEL SECURITY;
ALTER TABLE staff_users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_fence ON staff_users
    USING (hippo_tenant_visible(tenant_id)) WITH CHECK (hippo_tenant_visible(tenant_id));

ALTER TABLE blobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE blobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_fence ON blobs
    USING (hippo_tenant_visible(tenant_id)) WITH CHECK (hippo_tenant_visible(tenant_id));

ALTER TABLE tenant_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_fence ON tenant_keys
    USING (hippo_tenant_visible(tenant_id)) WITH CHECK (hippo_tenant_visible(tenant_id));

ALTER TABLE finding_pdfs ENABLE ROW LEVEL SECURITY;
ALTER TABLE finding_pdfs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_fence ON finding_pdfs
    USING (hippo_tenant_visible(tenant_id)) WITH CHECK (hippo_tenant_visible(tenant_id));
