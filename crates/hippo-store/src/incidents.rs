//! Incidents: a record with its detection time and notification deadline,
//! bounded by a blast-radius query whose result (affected tenants and
//! patients) is kept with it, plus a timeline. Every change is audited.

use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::time_util::{UnixMillis, now_millis};
use serde::Serialize;
use sqlx::{AnyPool, Row};

use crate::audit::{AuditLog, insert};
use crate::error::StoreError;
use crate::forensics::{BlastRadius, ForensicFilter, UnscopedForensics};

/// GDPR Art. 33: notify the supervisory authority within 72 hours.
pub const NOTIFICATION_DEADLINE_MS: i64 = 72 * 60 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentEvent {
    pub at: UnixMillis,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AffectedRecord {
    pub tenant_id: String,
    pub tenant_name: String,
    pub patient_id: String,
    pub given_name: String,
    pub family_name: String,
    pub accesses: i64,
    pub first_at: UnixMillis,
    pub last_at: UnixMillis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    pub id: String,
    pub title: String,
    pub detected_at: UnixMillis,
    pub deadline_at: UnixMillis,
    /// The forensic filter that bounds the incident, as JSON.
    pub query: String,
    pub timeline: Vec<IncidentEvent>,
    pub affected: Vec<AffectedRecord>,
}

/// An incident as the console lists it: no names, no values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentSummary {
    pub id: String,
    pub title: String,
    pub detected_at: UnixMillis,
    pub deadline_at: UnixMillis,
    pub affected_patients: i64,
    pub affected_tenants: i64,
}

#[derive(Clone)]
pub struct UnscopedIncidents {
    pool: AnyPool,
    audit: AuditLog,
}

fn operator_cli() -> (AuditActor, RequestOrigin) {
    (
        AuditActor::operator_cli(std::env::var("USER").ok()),
        RequestOrigin::cli("hippo incident"),
    )
}

impl UnscopedIncidents {
    pub(crate) fn new(pool: AnyPool, audit: AuditLog) -> Self {
        Self { pool, audit }
    }

    async fn audited(
        &self,
        conn: &mut sqlx::AnyConnection,
        incident: &str,
        detail: String,
    ) -> Result<(), StoreError> {
        let (actor, origin) = operator_cli();
        self.audited_as(conn, (actor, &origin), incident, detail)
            .await
    }

    async fn audited_as(
        &self,
        conn: &mut sqlx::AnyConnection,
        (actor, origin): (AuditActor, &RequestOrigin),
        incident: &str,
        detail: String,
    ) -> Result<(), StoreError> {
        let mut record = self.audit.record(
            actor,
            AuditEvent::new(
                Action::IncidentManage,
                ResourceKind::Incident,
                Outcome::Success,
            )
            .resource(incident)
            .detail(detail),
            origin,
        );
        insert(conn, &mut record).await
    }

    /// Open an incident bounded by `filter`; the affected tenants and
    /// patients are the filter's blast radius, kept as of now.
    pub async fn open(
        &self,
        title: &str,
        detected_at: UnixMillis,
        filter: &ForensicFilter,
    ) -> Result<(String, BlastRadius), StoreError> {
        let (actor, origin) = operator_cli();
        self.open_as(actor, &origin, title, detected_at, filter)
            .await
    }

    /// [`Self::open`] on behalf of an operator of the console, who is
    /// named in the audit record.
    pub(crate) async fn open_as(
        &self,
        actor: AuditActor,
        origin: &RequestOrigin,
        title: &str,
        detected_at: UnixMillis,
        filter: &ForensicFilter,
    ) -> Result<(String, BlastRadius), StoreError> {
        let radius = UnscopedForensics::new(self.pool.clone())
            .blast_radius(filter)
            .await?;
        let id = uuid::Uuid::new_v4().to_string();
        let query =
            serde_json::to_string(filter).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = crate::sql::begin_write(&self.pool).await?;
        sqlx::query("INSERT INTO incidents (id, title, detected_at, deadline_at, query, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(title)
            .bind(detected_at)
            .bind(detected_at + NOTIFICATION_DEADLINE_MS)
            .bind(&query)
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
        for tenant in &radius.tenants {
            for p in &tenant.patients {
                sqlx::query(
                    "INSERT INTO incident_affected (incident_id, tenant_id, patient_id, accesses, first_at, last_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&id)
                .bind(&tenant.tenant_id)
                .bind(&p.patient_id)
                .bind(p.accesses as i64)
                .bind(p.first)
                .bind(p.last)
                .execute(&mut *tx)
                .await?;
            }
        }
        let opened = format!(
            "Incident opened: {title}. Bounded by {query}: {} unauthorised accesses, {} tenants, {} patients.",
            radius.accesses,
            radius.tenants.len(),
            radius
                .tenants
                .iter()
                .map(|t| t.patients.len())
                .sum::<usize>()
        );
        sqlx::query("INSERT INTO incident_events (incident_id, at, text) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(now_millis())
            .bind(&opened)
            .execute(&mut *tx)
            .await?;
        self.audited_as(
            &mut tx,
            (actor, origin),
            &id,
            format!(
                "opened; affected_patients={}",
                radius
                    .tenants
                    .iter()
                    .map(|t| t.patients.len())
                    .sum::<usize>()
            ),
        )
        .await?;
        tx.commit().await?;
        Ok((id, radius))
    }

    /// Every incident with its clock and how many records it affects:
    /// pseudonymous counts only, for the operators' console.
    pub async fn summaries(&self) -> Result<Vec<IncidentSummary>, StoreError> {
        sqlx::query(
            "SELECT i.id, i.title, i.detected_at, i.deadline_at, \
             (SELECT COUNT(*) FROM incident_affected a WHERE a.incident_id = i.id) AS patients, \
             (SELECT COUNT(DISTINCT a.tenant_id) FROM incident_affected a WHERE a.incident_id = i.id) AS tenants \
             FROM incidents i ORDER BY i.detected_at DESC, i.id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(IncidentSummary {
                id: r.try_get("id")?,
                title: r.try_get("title")?,
                detected_at: r.try_get("detected_at")?,
                deadline_at: r.try_get("deadline_at")?,
                affected_patients: r.try_get("patients")?,
                affected_tenants: r.try_get("tenants")?,
            })
        })
        .collect()
    }

    pub async fn add_event(&self, id: &str, text: &str) -> Result<(), StoreError> {
        let mut tx = crate::sql::begin_write(&self.pool).await?;
        let exists = sqlx::query("SELECT 1 FROM incidents WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query("INSERT INTO incident_events (incident_id, at, text) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(now_millis())
            .bind(text)
            .execute(&mut *tx)
            .await?;
        self.audited(&mut tx, id, "timeline entry added".into())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get(&self, id: &str) -> Result<Incident, StoreError> {
        let row = sqlx::query("SELECT * FROM incidents WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        let timeline = sqlx::query(
            "SELECT at, text FROM incident_events WHERE incident_id = $1 ORDER BY at, rowid",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(IncidentEvent {
                at: r.try_get("at")?,
                text: r.try_get("text")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let affected = sqlx::query(
            "SELECT a.*, t.name AS tenant_name, COALESCE(p.given_name, '') AS given_name, \
             COALESCE(p.family_name, '') AS family_name FROM incident_affected a \
             LEFT JOIN tenants t ON t.id = a.tenant_id LEFT JOIN patients p ON p.id = a.patient_id \
             WHERE a.incident_id = $1 ORDER BY t.name, p.family_name, a.patient_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(AffectedRecord {
                tenant_id: r.try_get("tenant_id")?,
                tenant_name: r
                    .try_get::<Option<String>, _>("tenant_name")?
                    .unwrap_or_default(),
                patient_id: r.try_get("patient_id")?,
                given_name: r.try_get("given_name")?,
                family_name: r.try_get("family_name")?,
                accesses: r.try_get("accesses")?,
                first_at: r.try_get("first_at")?,
                last_at: r.try_get("last_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Incident {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            detected_at: row.try_get("detected_at")?,
            deadline_at: row.try_get("deadline_at")?,
            query: row.try_get("query")?,
            timeline,
            affected,
        })
    }
}
