//! Unscoped writes for setting up tenants, staff and patient accounts
//! (`hippo demo`, tests, later the operator console). Named so that every
//! bypass of the scoped handles is easy to find.

use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::time_util::{UnixMillis, now_millis};
use hippo_core::{AccountId, FindingId, OperatorId, PatientId, StaffId, StaffRole, TenantId};
use sqlx::{AnyConnection, AnyPool, Row};

use crate::audit::{AuditLog, insert};
use crate::error::StoreError;
use crate::model::TenantKind;
use crate::vault::Vault;

pub(crate) const EMAIL_IN_USE: &str = "e-mail already in use";

#[derive(Clone, Copy)]
enum PersonTable {
    Accounts,
    Operators,
}

#[derive(Clone)]
pub struct UnscopedProvisioning {
    pool: AnyPool,
    audit: AuditLog,
    vault: Vault,
}

/// What deleting a tenant removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TenantDeletion {
    pub tenant_id: TenantId,
    pub name: String,
    pub patients: u64,
    pub findings: u64,
    /// Sealed blobs left in the object store, unreadable without the key.
    pub unreadable_blobs: u64,
}

fn system() -> AuditActor {
    AuditActor {
        kind: "system".into(),
        id: None,
        tenant_id: None,
    }
}

fn origin() -> RequestOrigin {
    RequestOrigin {
        request_id: "provisioning".into(),
        route: None,
        client_addr: None,
        user_agent: None,
    }
}

pub(crate) async fn email_taken(conn: &mut AnyConnection, email: &str) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM staff_users WHERE lower(email) = lower($1)) + \
         (SELECT COUNT(*) FROM accounts WHERE lower(email) = lower($1)) + \
         (SELECT COUNT(*) FROM operators WHERE lower(email) = lower($1)) AS n",
    )
    .bind(email)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

impl UnscopedProvisioning {
    pub(crate) fn new(pool: AnyPool, audit: AuditLog, vault: Vault) -> Self {
        Self { pool, audit, vault }
    }

    /// Delete a tenant (operator CLI): its data key is destroyed
    /// (crypto-shredding: its sealed blobs, wherever copies of them are,
    /// can no longer be opened), its patients, findings, staff, API keys
    /// and sessions are removed, and the act is audited in the same
    /// transaction. The tenant row stays, marked deleted, because the
    /// audit log refers to it.
    pub async fn delete_tenant(
        &self,
        tenant: TenantId,
        actor: AuditActor,
    ) -> Result<TenantDeletion, StoreError> {
        let mut tx = crate::sql::begin_write(&self.pool).await?;
        let t = tenant.to_string();
        let row = sqlx::query("SELECT name FROM tenants WHERE id = $1 AND deleted_at IS NULL")
            .bind(&t)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let name: String = row.try_get("name")?;
        let count = |table: &'static str| {
            crate::sql::numbered(format!(
                "SELECT COUNT(*) AS n FROM {table} WHERE tenant_id = ?"
            ))
        };
        let mut counts = Vec::new();
        for table in ["patients", "findings", "blobs"] {
            let n: i64 = sqlx::query(count(table))
                .bind(&t)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            counts.push(n as u64);
        }
        self.vault.destroy_in(&mut tx, tenant).await?;
        // Children before parents (foreign keys).
        for statement in [
            // Notifications not yet sent go with the tenant (issue 11).
            "DELETE FROM notification_outbox WHERE tenant_id = $1",
            "DELETE FROM sessions WHERE staff_id IN (SELECT id FROM staff_users WHERE tenant_id = $1)",
            "DELETE FROM retrieval_pdf_tokens WHERE tenant_id = $1",
            "DELETE FROM retrieval_codes WHERE tenant_id = $1",
            "DELETE FROM observations WHERE tenant_id = $1",
            "DELETE FROM finding_pdfs WHERE tenant_id = $1",
            "DELETE FROM blobs WHERE tenant_id = $1",
            "DELETE FROM findings WHERE tenant_id = $1",
            // Messaging (issue 11): attachments, messages, threads.
            "DELETE FROM message_attachments WHERE tenant_id = $1",
            "DELETE FROM messages WHERE tenant_id = $1",
            "DELETE FROM threads WHERE tenant_id = $1",
            "DELETE FROM account_patients WHERE tenant_id = $1",
            // HL7 intake (issue 13).
            "DELETE FROM hl7_messages WHERE tenant_id = $1",
            "DELETE FROM patient_identifiers WHERE tenant_id = $1",
            "DELETE FROM patients WHERE tenant_id = $1",
            "DELETE FROM api_keys WHERE tenant_id = $1",
            "DELETE FROM staff_users WHERE tenant_id = $1",
            "UPDATE tenants SET deleted_at = $2 WHERE id = $1",
        ] {
            sqlx::query(statement)
                .bind(&t)
                .bind(now_millis())
                .execute(&mut *tx)
                .await?;
        }
        let deletion = TenantDeletion {
            tenant_id: tenant,
            name,
            patients: counts[0],
            findings: counts[1],
            unreadable_blobs: counts[2],
        };
        let mut record = self.audit.record(
            actor,
            AuditEvent::new(Action::TenantDelete, ResourceKind::Tenant, Outcome::Success)
                .resource(tenant)
                .concerning(tenant, None)
                .detail(format!(
                    "data key destroyed; patients={} findings={} unreadable_blobs={}",
                    deletion.patients, deletion.findings, deletion.unreadable_blobs
                )),
            &RequestOrigin::cli("hippo tenant delete"),
        );
        insert(&mut tx, &mut record).await?;
        tx.commit().await?;
        // Out of the write-ahead log, so the old wrapped key is not left in
        // it (secure_delete zeroes it in the database file itself).
        if crate::sql::Backend::of_pool(&self.pool) == crate::sql::Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(deletion)
    }

    async fn audited(&self, conn: &mut AnyConnection, event: AuditEvent) -> Result<(), StoreError> {
        let mut record = self.audit.record(system(), event, &origin());
        insert(conn, &mut record).await
    }

    pub async fn tenant_by_name(&self, name: &str) -> Result<Option<TenantId>, StoreError> {
        sqlx::query("SELECT id FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| crate::rows::parse(&r, "id"))
            .transpose()
    }

    pub async fn create_tenant(
        &self,
        name: &str,
        kind: TenantKind,
    ) -> Result<TenantId, StoreError> {
        let id = TenantId::random();
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO tenants (id, name, kind, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id.to_string())
            .bind(name)
            .bind(kind.as_str())
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
        self.audited(
            &mut tx,
            AuditEvent::new(Action::Public, ResourceKind::None, Outcome::Success)
                .concerning(id, None)
                .detail("tenant_created"),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn create_staff(
        &self,
        tenant: TenantId,
        email: &str,
        display_name: &str,
        role: StaffRole,
        password_hash: &str,
    ) -> Result<StaffId, StoreError> {
        let id = StaffId::random();
        let mut tx = crate::sql::begin_write(&self.pool).await?;
        if email_taken(&mut tx, email).await? {
            return Err(StoreError::Conflict(EMAIL_IN_USE.into()));
        }
        sqlx::query(
            "INSERT INTO staff_users (id, tenant_id, email, display_name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(email)
        .bind(display_name)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(now_millis())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::unique_as(EMAIL_IN_USE))?;
        self.audited(
            &mut tx,
            AuditEvent::new(Action::Public, ResourceKind::None, Outcome::Success)
                .resource(id)
                .concerning(tenant, None)
                .detail("staff_created"),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn create_account(
        &self,
        email: &str,
        display_name: &str,
        password_hash: &str,
    ) -> Result<AccountId, StoreError> {
        let id = AccountId::random();
        self.create_person(
            PersonTable::Accounts,
            &id.to_string(),
            email,
            display_name,
            password_hash,
        )
        .await?;
        Ok(id)
    }

    /// Accounts and operators have the same shape: one e-mail namespace,
    /// a name and a password hash.
    async fn create_person(
        &self,
        table: PersonTable,
        id: &str,
        email: &str,
        display_name: &str,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        let (name, detail) = match table {
            PersonTable::Accounts => ("accounts", "account_created"),
            PersonTable::Operators => ("operators", "operator_created"),
        };
        let mut tx = crate::sql::begin_write(&self.pool).await?;
        if email_taken(&mut tx, email).await? {
            return Err(StoreError::Conflict(EMAIL_IN_USE.into()));
        }
        sqlx::query(crate::sql::numbered(format!(
            "INSERT INTO {name} (id, email, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)"
        )))
        .bind(id)
        .bind(email)
        .bind(display_name)
        .bind(password_hash)
        .bind(now_millis())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::unique_as(EMAIL_IN_USE))?;
        self.audited(
            &mut tx,
            AuditEvent::new(Action::Public, ResourceKind::None, Outcome::Success)
                .resource(id)
                .detail(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Link an account to a patient record; the pair (tenant, patient) must
    /// exist, which the foreign key enforces.
    pub async fn link_account(
        &self,
        account: AccountId,
        tenant: TenantId,
        patient: PatientId,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO account_patients (account_id, tenant_id, patient_id) VALUES ($1, $2, $3)",
        )
        .bind(account.to_string())
        .bind(tenant.to_string())
        .bind(patient.to_string())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::unique_as(
            "the patient record is already linked, or the account already has a record there",
        ))?;
        self.audited(
            &mut tx,
            AuditEvent::new(Action::Public, ResourceKind::Patient, Outcome::Success)
                .resource(patient)
                .concerning(tenant, Some(patient))
                .detail(format!("account_linked={account}")),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_operator(
        &self,
        email: &str,
        display_name: &str,
        password_hash: &str,
    ) -> Result<OperatorId, StoreError> {
        let id = OperatorId::random();
        self.create_person(
            PersonTable::Operators,
            &id.to_string(),
            email,
            display_name,
            password_hash,
        )
        .await?;
        Ok(id)
    }

    /// Whether notification e-mails of `tenant` name the facility (issue
    /// 11; off by default: even a practice's name can reveal something
    /// about a patient's health).
    pub async fn set_notify_with_facility_name(
        &self,
        tenant: TenantId,
        show: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE tenants SET notify_with_facility_name = $1 WHERE id = $2 AND deleted_at IS NULL",
        )
        .bind(i64::from(show))
        .bind(tenant.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        self.audited(
            &mut tx,
            AuditEvent::new(Action::Public, ResourceKind::Tenant, Outcome::Success)
                .concerning(tenant, None)
                .detail(format!("notify_with_facility_name={show}")),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether patients of `tenant` see staff names in their access history.
    pub async fn set_show_staff_names(
        &self,
        tenant: TenantId,
        show: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE tenants SET show_staff_names_to_patients = $1 WHERE id = $2")
            .bind(i64::from(show))
            .bind(tenant.to_string())
            .execute(&mut *tx)
            .await?;
        self.audited(
            &mut tx,
            AuditEvent::new(Action::Public, ResourceKind::Tenant, Outcome::Success)
                .concerning(tenant, None)
                .detail(format!("show_staff_names_to_patients={show}")),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Demo seeding only: date a finding back, as if it had been uploaded
    /// and (if released) released at `at`, so that the demo world has a
    /// history to chart. A retracted finding is dated retracted a day later.
    pub async fn backdate_finding(
        &self,
        tenant: TenantId,
        finding: FindingId,
        at: UnixMillis,
    ) -> Result<(), StoreError> {
        const DAY: i64 = 24 * 60 * 60 * 1000;
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE findings SET created_at = $1, \
             released_at = CASE WHEN released_at IS NULL THEN NULL ELSE $1 END, \
             retracted_at = CASE WHEN retracted_at IS NULL THEN NULL ELSE $2 END \
             WHERE tenant_id = $3 AND id = $4",
        )
        .bind(at)
        .bind(at + DAY)
        .bind(tenant.to_string())
        .bind(finding.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        self.audited(
            &mut tx,
            AuditEvent::new(Action::Public, ResourceKind::Finding, Outcome::Success)
                .concerning(tenant, None)
                .detail(format!("demo_backdated finding={finding}")),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
