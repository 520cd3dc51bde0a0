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

DO $$
DECLARE
    fenced TEXT;
BEGIN
    FOREACH fenced IN ARRAY ARRAY[
        'patients', 'findings', 'observations', 'account_patients', 'api_keys',
        'staff_users', 'blobs', 'tenant_keys', 'finding_pdfs'
    ] LOOP
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
