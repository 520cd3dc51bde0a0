//! Credentials and server-side sessions. Session tokens are never stored:
//! callers pass the SHA-256 of the token.

use hippo_core::time_util::UnixMillis;
use hippo_core::{AccountId, ApiKeyId, OperatorId, PatientLink, Principal, StaffId, StaffRole};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::error::StoreError;
use crate::rows::parse;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginSubject {
    Staff(StaffId),
    Account(AccountId),
    Operator(OperatorId),
}

impl LoginSubject {
    /// The login subject behind a session's principal; lab systems have
    /// none (they authenticate by API key, never log in).
    pub fn of(principal: &Principal) -> Option<Self> {
        match principal {
            Principal::Staff { staff_id, .. } => Some(Self::Staff(*staff_id)),
            Principal::Patient { account_id, .. } => Some(Self::Account(*account_id)),
            Principal::Operator { operator_id, .. } => Some(Self::Operator(*operator_id)),
            Principal::LabSystem { .. } => None,
        }
    }

    pub fn id(&self) -> String {
        match self {
            Self::Staff(id) => id.to_string(),
            Self::Account(id) => id.to_string(),
            Self::Operator(id) => id.to_string(),
        }
    }
}

/// What a login needs; the hash never leaves the server layer.
pub struct Credentials {
    pub subject: LoginSubject,
    pub password_hash: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("subject", &self.subject)
            .field("password_hash", &"<redacted>")
            .finish()
    }
}

/// Where a session was issued and the only place its token counts: the
/// browser form's cookie or the JSON API's bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionSurface {
    Web,
    Api,
}

impl SessionSurface {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Api => "api",
        }
    }

    pub(crate) fn parse(value: &str) -> Result<Self, StoreError> {
        match value {
            "web" => Ok(Self::Web),
            "api" => Ok(Self::Api),
            other => Err(StoreError::Corrupt(format!("session surface {other:?}"))),
        }
    }
}

/// Session clock: the current time and the idle limit.
#[derive(Debug, Clone, Copy)]
pub struct SessionTimes {
    pub now: UnixMillis,
    pub idle_timeout_ms: i64,
}

/// A live session: whom it stands for, where it was issued, and the
/// SMART scopes it was limited to (`None`: the principal's full rights).
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub principal: Principal,
    pub surface: SessionSurface,
    pub scopes: Option<String>,
}

/// The lab system behind an API key, with the scopes the key was limited to.
#[derive(Debug, Clone)]
pub struct KeyHolder {
    pub principal: Principal,
    pub scopes: Option<String>,
}

#[derive(Clone)]
pub struct AuthStore {
    pub(crate) pool: AnyPool,
}

impl AuthStore {
    pub(crate) fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Staff and patient accounts share one e-mail namespace (enforced when
    /// provisioning), so at most one row matches.
    pub async fn credentials(&self, email: &str) -> Result<Option<Credentials>, StoreError> {
        let row = sqlx::query(
            "SELECT 'staff' AS kind, id, password_hash FROM staff_users WHERE lower(email) = lower($1) \
             AND deactivated_at IS NULL \
             UNION ALL SELECT 'account', id, password_hash FROM accounts WHERE lower(email) = lower($1) \
             UNION ALL SELECT 'operator', id, password_hash FROM operators WHERE lower(email) = lower($1) LIMIT 1",
        )
        .bind(email.trim())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("kind")?;
        let subject = match kind.as_str() {
            "staff" => LoginSubject::Staff(parse(&row, "id")?),
            "operator" => LoginSubject::Operator(parse(&row, "id")?),
            _ => LoginSubject::Account(parse(&row, "id")?),
        };
        Ok(Some(Credentials {
            subject,
            password_hash: row.try_get("password_hash")?,
        }))
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        subject: LoginSubject,
        surface: SessionSurface,
        now: UnixMillis,
        expires_at: UnixMillis,
    ) -> Result<(), StoreError> {
        let device = crate::account_sessions::SessionDevice::default();
        self.create_session_from(token_hash, subject, surface, now, expires_at, &device)
            .await
            .map(|_| ())
    }

    /// Open a session and return its public ID (random, 128 bits: what the
    /// sessions list shows and revokes by, never the token or its hash).
    pub async fn create_session_from(
        &self,
        token_hash: &str,
        subject: LoginSubject,
        surface: SessionSurface,
        now: UnixMillis,
        expires_at: UnixMillis,
        device: &crate::account_sessions::SessionDevice,
    ) -> Result<String, StoreError> {
        self.insert_session(token_hash, subject, surface, now, expires_at, device, None)
            .await
    }

    /// Open an API session limited to `scopes` (SMART scopes as granted by
    /// the server, issue 13) and return its public ID.
    pub async fn create_scoped_session(
        &self,
        token_hash: &str,
        subject: LoginSubject,
        now: UnixMillis,
        expires_at: UnixMillis,
        device: &crate::account_sessions::SessionDevice,
        scopes: &str,
    ) -> Result<String, StoreError> {
        let surface = SessionSurface::Api;
        self.insert_session(
            token_hash,
            subject,
            surface,
            now,
            expires_at,
            device,
            Some(scopes),
        )
        .await
    }

    #[allow(clippy::too_many_arguments)] // one column each
    async fn insert_session(
        &self,
        token_hash: &str,
        subject: LoginSubject,
        surface: SessionSurface,
        now: UnixMillis,
        expires_at: UnixMillis,
        device: &crate::account_sessions::SessionDevice,
        scopes: Option<&str>,
    ) -> Result<String, StoreError> {
        let (staff, account, operator) = match subject {
            LoginSubject::Staff(id) => (Some(id.to_string()), None, None),
            LoginSubject::Account(id) => (None, Some(id.to_string()), None),
            LoginSubject::Operator(id) => (None, None, Some(id.to_string())),
        };
        let public_id = uuid::Uuid::new_v4().simple().to_string();
        sqlx::query(
            "INSERT INTO sessions (token_hash, staff_id, account_id, operator_id, created_at, \
             last_seen_at, expires_at, surface, public_id, device_label, client_network, scopes) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(token_hash)
        .bind(staff)
        .bind(account)
        .bind(operator)
        .bind(now)
        .bind(now)
        .bind(expires_at)
        .bind(surface.as_str())
        .bind(&public_id)
        .bind(&device.label)
        .bind(&device.network)
        .bind(scopes)
        .execute(&self.pool)
        .await?;
        if let LoginSubject::Staff(id) = subject {
            // For the admin's staff list (issue 12).
            sqlx::query("UPDATE staff_users SET last_login_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id.to_string())
                .execute(&self.pool)
                .await?;
        }
        Ok(public_id)
    }

    /// The IANA time zone a facility's pages show dates in (issue 12);
    /// `None` for an unknown tenant. Metadata, no patient data.
    pub async fn tenant_time_zone(
        &self,
        tenant: hippo_core::TenantId,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query("SELECT time_zone FROM tenants WHERE id = $1")
            .bind(tenant.to_string())
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.try_get::<String, _>("time_zone"))
            .transpose()?)
    }

    /// The principal of a live session, refreshing its idle clock. Expired
    /// sessions (idle or absolute) are deleted and yield `None`. This runs
    /// on every request, so the session and its principal (staff member,
    /// operator, or account with its patient links) come in one statement:
    /// every statement is a round trip to the database's worker thread.
    /// The session's surface comes along: whether the token may be used
    /// where it was presented is the caller's decision.
    pub async fn session_principal(
        &self,
        token_hash: &str,
        times: SessionTimes,
    ) -> Result<Option<LiveSession>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(SESSION_WITH_PRINCIPAL)
            .bind(token_hash)
            .fetch_all(&mut *conn)
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let last_seen: i64 = first.try_get("last_seen_at")?;
        let expires: i64 = first.try_get("expires_at")?;
        if times.now >= expires || times.now - last_seen >= times.idle_timeout_ms {
            delete_session_on(&mut conn, token_hash).await?;
            return Ok(None);
        }
        // Refresh at most every few seconds: the idle clock needs no
        // millisecond precision and this saves a write per request.
        if times.now - last_seen > 5_000 {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
                .bind(times.now)
                .bind(token_hash)
                .execute(&mut *conn)
                .await?;
        }
        let surface = SessionSurface::parse(&first.try_get::<String, _>("surface")?)?;
        let scopes: Option<String> = first.try_get("scopes")?;
        Ok(session_principal_from(&rows)?.map(|principal| LiveSession {
            principal,
            surface,
            scopes,
        }))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        delete_session_on(&mut *self.pool.acquire().await?, token_hash).await
    }

    /// Build the principal for a login subject from the database, so that a
    /// role change or a new patient link takes effect on the next request.
    pub async fn principal(&self, subject: LoginSubject) -> Result<Option<Principal>, StoreError> {
        principal_on(&mut *self.pool.acquire().await?, subject).await
    }

    /// The lab system behind an API key, if the key exists, is not revoked
    /// and has not expired. `key_hash` is the SHA-256 of the presented
    /// secret.
    pub async fn api_key_principal(&self, key_hash: &str) -> Result<Option<KeyHolder>, StoreError> {
        let row = sqlx::query(
            "SELECT id, tenant_id, name, scopes FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL \
             AND expires_at > $2",
        )
        .bind(key_hash)
        .bind(hippo_core::time_util::now_millis())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let key_id: ApiKeyId = parse(&row, "id")?;
        Ok(Some(KeyHolder {
            principal: Principal::LabSystem {
                key_id,
                tenant_id: parse(&row, "tenant_id")?,
                display_name: row.try_get("name")?,
            },
            scopes: row.try_get("scopes")?,
        }))
    }
}

async fn delete_session_on(conn: &mut AnyConnection, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// A session and whoever it belongs to: one row, or one row per patient
/// link of an account (one with NULL links for an unlinked account). A
/// `*_found` column is NULL when the session's staff member, operator or
/// account no longer exists.
const SESSION_WITH_PRINCIPAL: &str = "SELECT s.staff_id, s.account_id, s.operator_id, \
     s.last_seen_at, s.expires_at, s.surface, s.scopes, \
     st.id AS staff_found, st.tenant_id AS staff_tenant_id, st.role AS staff_role, \
     st.display_name AS staff_name, \
     o.id AS operator_found, o.display_name AS operator_name, \
     a.id AS account_found, a.display_name AS account_name, \
     ap.tenant_id AS link_tenant_id, ap.patient_id AS link_patient_id \
     FROM sessions s \
     LEFT JOIN staff_users st ON st.id = s.staff_id AND st.deactivated_at IS NULL \
     LEFT JOIN operators o ON o.id = s.operator_id \
     LEFT JOIN accounts a ON a.id = s.account_id \
     LEFT JOIN account_patients ap ON ap.account_id = s.account_id \
     WHERE s.token_hash = $1 ORDER BY ap.tenant_id";

/// The principal from the rows of [`SESSION_WITH_PRINCIPAL`]: the
/// session names its subject, the joined columns describe it.
fn session_principal_from(rows: &[AnyRow]) -> Result<Option<Principal>, StoreError> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let present = |column: &str| -> Result<bool, StoreError> {
        Ok(first.try_get::<Option<String>, _>(column)?.is_some())
    };
    let principal = if present("staff_id")? {
        present("staff_found")?.then(|| staff_principal(first, parse(first, "staff_id")?))
    } else if present("operator_id")? {
        present("operator_found")?.then(|| operator_principal(first, parse(first, "operator_id")?))
    } else {
        present("account_found")?.then(|| patient_principal(rows, parse(first, "account_id")?))
    };
    principal.transpose()
}

/// The principal of a login subject, read from its own tables; the
/// columns are named as in [`SESSION_WITH_PRINCIPAL`], so one builder per
/// kind serves both.
async fn principal_on(
    conn: &mut AnyConnection,
    subject: LoginSubject,
) -> Result<Option<Principal>, StoreError> {
    match subject {
        LoginSubject::Staff(id) => sqlx::query(
            "SELECT tenant_id AS staff_tenant_id, role AS staff_role, display_name AS staff_name \
             FROM staff_users WHERE id = $1 AND deactivated_at IS NULL",
        )
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|row| staff_principal(&row, id))
        .transpose(),
        LoginSubject::Operator(id) => {
            sqlx::query("SELECT display_name AS operator_name FROM operators WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(conn)
                .await?
                .map(|row| operator_principal(&row, id))
                .transpose()
        }
        LoginSubject::Account(id) => {
            // The account and its patient links in one statement (one row
            // per link; one row with NULL links for an unlinked account).
            let rows = sqlx::query(
                "SELECT a.display_name AS account_name, ap.tenant_id AS link_tenant_id, \
                 ap.patient_id AS link_patient_id FROM accounts a \
                 LEFT JOIN account_patients ap ON ap.account_id = a.id \
                 WHERE a.id = $1 ORDER BY ap.tenant_id",
            )
            .bind(id.to_string())
            .fetch_all(conn)
            .await?;
            if rows.is_empty() {
                return Ok(None);
            }
            patient_principal(&rows, id).map(Some)
        }
    }
}

fn staff_principal(row: &AnyRow, staff_id: StaffId) -> Result<Principal, StoreError> {
    let role: String = row.try_get("staff_role")?;
    Ok(Principal::Staff {
        staff_id,
        tenant_id: parse(row, "staff_tenant_id")?,
        role: StaffRole::parse(&role).ok_or_else(|| StoreError::Corrupt("staff role".into()))?,
        display_name: row.try_get("staff_name")?,
    })
}

fn operator_principal(row: &AnyRow, operator_id: OperatorId) -> Result<Principal, StoreError> {
    Ok(Principal::Operator {
        operator_id,
        display_name: row.try_get("operator_name")?,
    })
}

/// An account with its patient links: one row per link, the first row
/// carrying the name (an unlinked account has one row with NULL links).
fn patient_principal(rows: &[AnyRow], account_id: AccountId) -> Result<Principal, StoreError> {
    let mut links = Vec::with_capacity(rows.len());
    for row in rows {
        if row
            .try_get::<Option<String>, _>("link_tenant_id")?
            .is_some()
        {
            links.push(PatientLink {
                tenant_id: parse(row, "link_tenant_id")?,
                patient_id: parse(row, "link_patient_id")?,
            });
        }
    }
    let first = rows
        .first()
        .ok_or_else(|| StoreError::Corrupt("an account without its row".into()))?;
    Ok(Principal::Patient {
        account_id,
        display_name: first.try_get("account_name")?,
        links,
    })
}
