//! Staff (tenant admins): the lab-system keys of the own tenant.

use hippo_core::ApiKeyId;
use hippo_core::policy::{Action, ResourceKind, ResourceRef};
use hippo_core::time_util::{UnixMillis, now_millis};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::StaffScope;
use crate::admission::{Access, Admitted, Statement};
use crate::error::StoreError;
use crate::model::ApiKeyRecord;
use crate::rows::parse;

fn api_key(row: &AnyRow) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        id: parse(row, "id")?,
        tenant_id: parse(row, "tenant_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
        // Rows from before keys expired got theirs in the migration.
        expires_at: row
            .try_get::<Option<i64>, _>("expires_at")?
            .unwrap_or(UnixMillis::MIN),
        scopes: row.try_get("scopes")?,
    })
}

fn api_key_ref(k: &ApiKeyRecord) -> ResourceRef {
    ResourceRef::ApiKey {
        tenant: k.tenant_id,
        key: k.id,
    }
}

/// `GET /api/v1/api-keys`: never the secret, which is not stored.
const API_KEYS_OF_TENANT: Statement<ApiKeyRecord> = Statement {
    sql: "SELECT k.id, k.tenant_id, k.name, k.created_at, k.revoked_at, k.expires_at, k.scopes FROM api_keys k \
          WHERE (k.tenant_id = $1) /* fence */ ORDER BY k.created_at DESC, k.id",
    map: api_key,
    resource: api_key_ref,
    kind: ResourceKind::ApiKey,
};

const API_KEY_BY_ID: Statement<ApiKeyRecord> = Statement {
    sql: "SELECT k.id, k.tenant_id, k.name, k.created_at, k.revoked_at, k.expires_at, k.scopes FROM api_keys k \
          WHERE (k.tenant_id = $1) /* fence */ AND k.id = $2",
    map: api_key,
    resource: api_key_ref,
    kind: ResourceKind::ApiKey,
};

/// A key's validity unless its creator asks for less: one year.
pub const DEFAULT_API_KEY_VALIDITY_MS: i64 = 365 * 24 * 60 * 60 * 1000;

impl StaffScope {
    pub async fn list_api_keys(&self) -> Result<Admitted<Vec<ApiKeyRecord>>, StoreError> {
        let action = self.gk.serving(&[Action::ApiKeyList])?;
        let tenant = ResourceRef::Tenant(self.tenant);
        self.gk
            .require(action, &tenant, ResourceKind::ApiKey, self.tenant)
            .await?;
        let keys = self
            .gk
            .fetch_all(
                &API_KEYS_OF_TENANT,
                |q| q.bind(self.tenant.to_string()),
                Action::ApiKeyRevoke,
            )
            .await?;
        let access = Access::default()
            .concerning(self.tenant, None)
            .detail(format!("listed={}", keys.get().len()));
        self.gk
            .admit(keys, ResourceKind::ApiKey, vec![access])
            .await
    }

    /// Register a key for this tenant, valid for the default year.
    pub async fn create_api_key(
        &self,
        name: &str,
        key_hash: &str,
    ) -> Result<Admitted<ApiKeyRecord>, StoreError> {
        let expires_at = now_millis() + DEFAULT_API_KEY_VALIDITY_MS;
        self.create_api_key_expiring(name, key_hash, expires_at)
            .await
    }

    /// Register a key for this tenant, refused from `expires_at` on. The
    /// caller generated the secret and passes only its hash; the secret is
    /// shown once and never stored.
    pub async fn create_api_key_expiring(
        &self,
        name: &str,
        key_hash: &str,
        expires_at: UnixMillis,
    ) -> Result<Admitted<ApiKeyRecord>, StoreError> {
        self.create_api_key_scoped(name, key_hash, expires_at, None)
            .await
    }

    /// Register a key limited to `scopes` (SMART scopes as granted by the
    /// server, issue 13); `None` keeps every right of a lab system.
    pub async fn create_api_key_scoped(
        &self,
        name: &str,
        key_hash: &str,
        expires_at: UnixMillis,
        scopes: Option<&str>,
    ) -> Result<Admitted<ApiKeyRecord>, StoreError> {
        let action = self.gk.serving(&[Action::ApiKeyCreate])?;
        let tenant = ResourceRef::Tenant(self.tenant);
        self.gk
            .require(action, &tenant, ResourceKind::ApiKey, self.tenant)
            .await?;
        let record = ApiKeyRecord {
            id: ApiKeyId::random(),
            tenant_id: self.tenant,
            name: name.to_owned(),
            created_at: now_millis(),
            revoked_at: None,
            expires_at,
            scopes: scopes.map(str::to_owned),
        };
        let mut tx = self.gk.connections.begin(false).await?;
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, name, key_hash, created_by, created_at, \
             expires_at, scopes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(record.id.to_string())
        .bind(self.tenant.to_string())
        .bind(name)
        .bind(key_hash)
        .bind(&self.actor_id)
        .bind(record.created_at)
        .bind(record.expires_at)
        .bind(scopes)
        .execute(&mut *tx)
        .await?;
        let access = Access::of(record.id).concerning(self.tenant, None);
        let created = self.gk.checked(record);
        self.gk
            .commit(tx, created, ResourceKind::ApiKey, access)
            .await
    }

    pub async fn revoke_api_key(&self, id: ApiKeyId) -> Result<Admitted<ApiKeyRecord>, StoreError> {
        let action = self.gk.serving(&[Action::ApiKeyRevoke])?;
        let bind = |q: crate::admission::Bound<'static>| {
            q.bind(self.tenant.to_string()).bind(id.to_string())
        };
        self.gk.fetch_one(&API_KEY_BY_ID, bind, action, id).await?;
        let mut tx = self.gk.connections.begin(false).await?;
        sqlx::query(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) \
             WHERE tenant_id = $2 AND id = $3",
        )
        .bind(now_millis())
        .bind(self.tenant.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        let revoked = self.gk.reload_in(&mut tx, &API_KEY_BY_ID, bind).await?;
        let access = Access::of(id).concerning(self.tenant, None);
        self.gk
            .commit(tx, revoked, ResourceKind::ApiKey, access)
            .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_statement_is_fenced_by_tenant() {
        for sql in [super::API_KEYS_OF_TENANT.sql, super::API_KEY_BY_ID.sql] {
            assert!(sql.contains("(k.tenant_id = $1) /* fence */"), "{sql}");
        }
    }
}
