//! Service switches in the database: the current state per service and
//! scope, pending four-eyes requests, and a version counter that every
//! change bumps (instances poll it; on PostgreSQL the change's transaction
//! also sends `NOTIFY`). Every change is audited in its own transaction.
//! What a switch means for a request is decided in `hippo-core`
//! ([`SwitchBoard`]), never here.

use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::switches::{Outage, Service, SwitchBoard, SwitchScope};
use hippo_core::time_util::{UnixMillis, now_millis};
use hippo_core::{DomainError, TenantId};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Row, Transaction};

use crate::audit::{AuditLog, insert};
use crate::error::StoreError;
use crate::sql::Backend;

/// The PostgreSQL channel every change notifies.
pub const SWITCH_CHANNEL: &str = "hippo_service_switches";

const MAX_REASON: usize = 500;
const MAX_USER_MESSAGE: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchState {
    On,
    Off,
}

impl SwitchState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::On => "on",
            Self::Off => "off",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "on" => Ok(Self::On),
            "off" => Ok(Self::Off),
            other => Err(StoreError::Corrupt(format!("switch state {other:?}"))),
        }
    }
}

/// What an operator asks for.
#[derive(Debug, Clone)]
pub struct SwitchChange {
    pub service: Service,
    pub scope: SwitchScope,
    pub state: SwitchState,
    /// Why (internal: audit log and operators only).
    pub reason: String,
    /// What users are told while the service is off.
    pub user_message: Option<String>,
}

/// What a change did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ChangeOutcome {
    Changed {
        old: SwitchState,
        new: SwitchState,
    },
    /// Already in the asked-for state; nothing written.
    Unchanged {
        state: SwitchState,
    },
    /// Four-eyes: recorded as a request; a second operator completes it.
    AwaitingSecondOperator,
    /// Four-eyes: a second operator completed `requested_by`'s request.
    Approved {
        requested_by: String,
    },
}

/// One switch as stored, for listings.
#[derive(Debug, Clone, Serialize)]
pub struct SwitchRecord {
    pub service: Service,
    pub tenant_id: Option<TenantId>,
    pub state: SwitchState,
    pub reason: String,
    pub user_message: Option<String>,
    pub changed_by: String,
    pub changed_at: UnixMillis,
}

/// A four-eyes request waiting for a second operator.
#[derive(Debug, Clone, Serialize)]
pub struct PendingSwitchRequest {
    pub service: Service,
    pub tenant_id: Option<TenantId>,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: UnixMillis,
}

/// The stored switches. The version counter is left out on purpose: it
/// is the watcher's signal, and a listing must not fail with it.
#[derive(Debug, Clone, Serialize)]
pub struct SwitchListing {
    pub switches: Vec<SwitchRecord>,
    pub pending: Vec<PendingSwitchRequest>,
}

/// The `scope` column: `*` for everywhere, else the tenant ID.
fn scope_key(scope: SwitchScope) -> String {
    match scope {
        SwitchScope::Everywhere => "*".into(),
        SwitchScope::Tenant(t) => t.to_string(),
    }
}

/// Who acted, as compared for four-eyes: kind and ID.
fn identity(actor: &AuditActor) -> Result<String, StoreError> {
    match &actor.id {
        Some(id) if !id.is_empty() => Ok(format!("{}:{id}", actor.kind)),
        _ => Err(DomainError::invalid(
            "operator",
            "the acting operator is unknown (set --operator or USER)",
        )
        .into()),
    }
}

fn service_of(row: &AnyRow) -> Result<Service, StoreError> {
    let name: String = row.try_get("service")?;
    name.parse()
        .map_err(|e: hippo_core::switches::UnknownService| StoreError::Corrupt(e.to_string()))
}

fn tenant_of(row: &AnyRow) -> Result<Option<TenantId>, StoreError> {
    let tenant: Option<String> = row.try_get("tenant_id")?;
    tenant
        .map(|t| {
            t.parse()
                .map_err(|_| StoreError::Corrupt(format!("switch tenant {t:?}")))
        })
        .transpose()
}

fn validated(change: &SwitchChange) -> Result<(), StoreError> {
    let reason = change.reason.trim();
    if reason.is_empty() {
        return Err(DomainError::invalid("reason", "a reason is required").into());
    }
    if reason.chars().count() > MAX_REASON {
        return Err(DomainError::invalid("reason", "at most 500 characters").into());
    }
    if let Some(message) = &change.user_message
        && message.chars().count() > MAX_USER_MESSAGE
    {
        return Err(DomainError::invalid("message", "at most 500 characters").into());
    }
    Ok(())
}

/// The switch table, unscoped: the server's watcher reads it, the operator
/// scope and the CLI change it.
#[derive(Clone)]
pub struct UnscopedSwitches {
    pool: AnyPool,
    audit: AuditLog,
}

impl UnscopedSwitches {
    pub(crate) fn new(pool: AnyPool, audit: AuditLog) -> Self {
        Self { pool, audit }
    }

    /// Whether changes are also announced by `NOTIFY` (PostgreSQL).
    pub fn notifies(&self) -> bool {
        Backend::of_pool(&self.pool) == Backend::Postgres
    }

    /// The version counter: moves with every change.
    pub async fn version(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT version FROM service_switch_version WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("version")?)
    }

    /// What is off now, read with the version it belongs to (one
    /// transaction, so the two agree).
    pub async fn board(&self) -> Result<SwitchBoard, StoreError> {
        let mut tx = self.pool.begin().await?;
        let version: i64 = sqlx::query("SELECT version FROM service_switch_version WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?
            .try_get("version")?;
        let rows = sqlx::query(
            "SELECT service, tenant_id, user_message FROM service_switches WHERE state = 'off' \
             ORDER BY service, scope",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let off = rows
            .iter()
            .map(|row| {
                Ok(Outage {
                    service: service_of(row)?,
                    scope: SwitchScope::of(tenant_of(row)?),
                    user_message: row.try_get("user_message")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(SwitchBoard::new(version, off))
    }

    /// Every stored switch and pending request.
    pub async fn listing(&self) -> Result<SwitchListing, StoreError> {
        let switches = sqlx::query(
            "SELECT service, tenant_id, state, reason, user_message, changed_by, changed_at \
             FROM service_switches ORDER BY service, scope",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(SwitchRecord {
                service: service_of(row)?,
                tenant_id: tenant_of(row)?,
                state: SwitchState::parse(&row.try_get::<String, _>("state")?)?,
                reason: row.try_get("reason")?,
                user_message: row.try_get("user_message")?,
                changed_by: row.try_get("changed_by")?,
                changed_at: row.try_get("changed_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let pending = sqlx::query(
            "SELECT service, tenant_id, reason, requested_by, requested_at \
             FROM service_switch_requests ORDER BY service, scope",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(PendingSwitchRequest {
                service: service_of(row)?,
                tenant_id: tenant_of(row)?,
                reason: row.try_get("reason")?,
                requested_by: row.try_get("requested_by")?,
                requested_at: row.try_get("requested_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(SwitchListing { switches, pending })
    }

    /// A change at the `hippo` command line, by `operator` (the shell's
    /// user unless given).
    pub async fn change_from_cli(
        &self,
        operator: Option<String>,
        change: &SwitchChange,
        four_eyes: bool,
    ) -> Result<ChangeOutcome, StoreError> {
        let actor = AuditActor::operator_cli(operator);
        self.change(
            actor,
            &RequestOrigin::cli("hippo switch"),
            change,
            four_eyes,
        )
        .await
    }

    /// Turn a service off or on in one scope: validated, applied, the
    /// version bumped (and on PostgreSQL notified) and audited in one
    /// transaction. Turning a service back on everywhere under four-eyes
    /// needs two different operators.
    pub async fn change(
        &self,
        actor: AuditActor,
        origin: &RequestOrigin,
        change: &SwitchChange,
        four_eyes: bool,
    ) -> Result<ChangeOutcome, StoreError> {
        validated(change)?;
        let who = identity(&actor)?;
        let scope = scope_key(change.scope);
        let tenant = change.scope.tenant().map(|t| t.to_string());
        let mut tx = crate::sql::begin_write(&self.pool).await?;
        if let Some(tenant) = &tenant {
            let exists = sqlx::query("SELECT 1 AS one FROM tenants WHERE id = $1")
                .bind(tenant)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(DomainError::invalid("tenant_id", "no such tenant").into());
            }
        }
        let current =
            sqlx::query("SELECT state FROM service_switches WHERE service = $1 AND scope = $2")
                .bind(change.service.as_str())
                .bind(&scope)
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| SwitchState::parse(&row.try_get::<String, _>("state")?))
                .transpose()?
                .unwrap_or(SwitchState::On);
        if current == SwitchState::On && change.state == SwitchState::On {
            return Ok(ChangeOutcome::Unchanged {
                state: SwitchState::On,
            });
        }
        let reason = change.reason.trim();
        let mut outcome = ChangeOutcome::Changed {
            old: current,
            new: change.state,
        };
        if change.state == SwitchState::On && four_eyes && change.scope == SwitchScope::Everywhere {
            let pending: Option<String> = sqlx::query(
                "SELECT requested_by FROM service_switch_requests WHERE service = $1 AND scope = $2",
            )
            .bind(change.service.as_str())
            .bind(&scope)
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get("requested_by"))
            .transpose()?;
            match pending {
                None => {
                    sqlx::query(
                        "INSERT INTO service_switch_requests \
                         (service, scope, tenant_id, reason, requested_by, requested_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(change.service.as_str())
                    .bind(&scope)
                    .bind(tenant.clone())
                    .bind(reason)
                    .bind(&who)
                    .bind(now_millis())
                    .execute(&mut *tx)
                    .await?;
                    let detail = format!(
                        "service={} scope={} state=off requested=on four_eyes=pending reason={reason}",
                        change.service, change.scope
                    );
                    self.audited(&mut tx, actor, origin, change, Outcome::Success, detail)
                        .await?;
                    tx.commit().await?;
                    return Ok(ChangeOutcome::AwaitingSecondOperator);
                }
                Some(first) if first == who => {
                    drop(tx);
                    let detail = format!(
                        "service={} scope={} four_eyes=self_approval_refused reason={reason}",
                        change.service, change.scope
                    );
                    let event = self.event(change, Outcome::Rejected, detail);
                    self.audit.append(actor, event, origin).await?;
                    return Err(StoreError::Conflict(format!(
                        "turning {} back on everywhere needs a second operator: the request is yours ({who})",
                        change.service
                    )));
                }
                Some(first) => {
                    outcome = ChangeOutcome::Approved {
                        requested_by: first,
                    };
                }
            }
        }
        // Whatever the change, a waiting request to turn this switch on is
        // settled by it (approved, overtaken, or moot once off again).
        sqlx::query("DELETE FROM service_switch_requests WHERE service = $1 AND scope = $2")
            .bind(change.service.as_str())
            .bind(&scope)
            .execute(&mut *tx)
            .await?;
        let message = match change.state {
            SwitchState::Off => change
                .user_message
                .as_deref()
                .map(str::trim)
                .filter(|m| !m.is_empty()),
            SwitchState::On => None,
        };
        sqlx::query(
            "INSERT INTO service_switches \
             (service, scope, tenant_id, state, reason, user_message, changed_by, changed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (service, scope) DO UPDATE SET state = excluded.state, \
             reason = excluded.reason, user_message = excluded.user_message, \
             changed_by = excluded.changed_by, changed_at = excluded.changed_at",
        )
        .bind(change.service.as_str())
        .bind(&scope)
        .bind(tenant)
        .bind(change.state.as_str())
        .bind(reason)
        .bind(message)
        .bind(&who)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE service_switch_version SET version = version + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        if self.notifies() {
            // Delivered to every listener when (and only if) this commits.
            sqlx::query(sqlx::AssertSqlSafe(format!("NOTIFY {SWITCH_CHANNEL}")))
                .execute(&mut *tx)
                .await?;
        }
        let approved = match &outcome {
            ChangeOutcome::Approved { requested_by } => {
                format!(" four_eyes=approved first={requested_by}")
            }
            _ => String::new(),
        };
        let detail = format!(
            "service={} scope={} old={} new={}{approved} reason={reason}",
            change.service,
            change.scope,
            current.as_str(),
            change.state.as_str()
        );
        self.audited(&mut tx, actor, origin, change, Outcome::Success, detail)
            .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    fn event(&self, change: &SwitchChange, outcome: Outcome, detail: String) -> AuditEvent {
        let mut event = AuditEvent::new(Action::SwitchChange, ResourceKind::ServiceSwitch, outcome)
            .resource(format!("{}@{}", change.service, scope_key(change.scope)))
            .detail(detail);
        if let SwitchScope::Tenant(tenant) = change.scope {
            event = event.concerning(tenant, None);
        }
        event
    }

    async fn audited(
        &self,
        tx: &mut Transaction<'static, Any>,
        actor: AuditActor,
        origin: &RequestOrigin,
        change: &SwitchChange,
        outcome: Outcome,
        detail: String,
    ) -> Result<(), StoreError> {
        let event = self.event(change, outcome, detail);
        let mut record = self.audit.record(actor, event, origin);
        insert(tx, &mut record).await
    }
}

/// Change announcements on PostgreSQL: a dedicated connection that
/// `LISTEN`s on [`SWITCH_CHANNEL`] (it reconnects by itself after a drop).
pub struct SwitchNotifications {
    listener: sqlx::postgres::PgListener,
}

impl SwitchNotifications {
    pub(crate) async fn connect(url: &str) -> Result<Self, StoreError> {
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(SWITCH_CHANNEL).await?;
        Ok(Self { listener })
    }

    /// Wait for the next announcement; `Ok(false)` after the connection
    /// was lost (announcements may have been missed: reread anyway).
    pub async fn next(&mut self) -> Result<bool, StoreError> {
        Ok(self.listener.try_recv().await?.is_some())
    }
}
