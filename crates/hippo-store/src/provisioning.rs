//! Unscoped writes for setting up tenants, staff and patient accounts
//! (`hippo demo`, tests, later the operator console). Named so that every
//! bypass of the scoped handles is easy to find.

use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::time_util::now_millis;
use hippo_core::{AccountId, OperatorId, PatientId, StaffId, StaffRole, TenantId};
use sqlx::{AssertSqlSafe, Row, SqliteConnection, SqlitePool};

use crate::audit::{AuditLog, insert};
use crate::error::StoreError;
use crate::model::TenantKind;

#[derive(Clone, Copy)]
enum PersonTable {
    Accounts,
    Operators,
}

#[derive(Clone)]
pub struct Provisioning {
    pool: SqlitePool,
    audit: AuditLog,
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

async fn email_taken(conn: &mut SqliteConnection, email: &str) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM staff_users WHERE email = ?1) + \
         (SELECT COUNT(*) FROM accounts WHERE email = ?1) + \
         (SELECT COUNT(*) FROM operators WHERE email = ?1) AS n",
    )
    .bind(email)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

impl Provisioning {
    pub(crate) fn new(pool: SqlitePool, audit: AuditLog) -> Self {
        Self { pool, audit }
    }

    async fn audited(
        &self,
        conn: &mut SqliteConnection,
        event: AuditEvent,
    ) -> Result<(), StoreError> {
        let mut record = self.audit.record(system(), event, &origin());
        insert(conn, &mut record).await
    }

    pub async fn tenant_by_name(&self, name: &str) -> Result<Option<TenantId>, StoreError> {
        sqlx::query("SELECT id FROM tenants WHERE name = ?")
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
        sqlx::query("INSERT INTO tenants (id, name, kind, created_at) VALUES (?, ?, ?, ?)")
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if email_taken(&mut tx, email).await? {
            return Err(StoreError::Conflict("e-mail already in use".into()));
        }
        sqlx::query(
            "INSERT INTO staff_users (id, tenant_id, email, display_name, role, password_hash, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(email)
        .bind(display_name)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if email_taken(&mut tx, email).await? {
            return Err(StoreError::Conflict("e-mail already in use".into()));
        }
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {name} (id, email, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)"
        )))
        .bind(id)
        .bind(email)
        .bind(display_name)
        .bind(password_hash)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
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
            "INSERT INTO account_patients (account_id, tenant_id, patient_id) VALUES (?, ?, ?)",
        )
        .bind(account.to_string())
        .bind(tenant.to_string())
        .bind(patient.to_string())
        .execute(&mut *tx)
        .await?;
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

    /// Whether patients of `tenant` see staff names in their access history.
    pub async fn set_show_staff_names(
        &self,
        tenant: TenantId,
        show: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE tenants SET show_staff_names_to_patients = ? WHERE id = ?")
            .bind(show)
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
}
