//! Anomaly rules over the audit log. Hand-rolled: they are Hippo's core
//! (what an incident looks like in this domain) and plain SQL over the
//! log's indexes. They run continuously in the server over a sliding
//! window and on demand over history.

use hippo_core::time_util::UnixMillis;
use serde::Serialize;
use sqlx::{AnyPool, Row};

use crate::error::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnomalyThresholds {
    /// Window length for the counting rules.
    pub window_ms: i64,
    /// One actor touching at least this many distinct patients.
    pub distinct_patients: i64,
    /// One actor (or client address) with at least this many refused or
    /// not-found lookups.
    pub refused_lookups: i64,
    /// One actor trying at least this many malformed (e.g. counted-up)
    /// identifiers.
    pub malformed_ids: i64,
}

impl Default for AnomalyThresholds {
    fn default() -> Self {
        Self {
            window_ms: 10 * 60 * 1000,
            distinct_patients: 50,
            refused_lookups: 30,
            malformed_ids: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub id: String,
    /// `honeytoken`, `many_patients`, `refused_burst`, `sequential_probing`.
    pub rule: String,
    pub raised_at: UnixMillis,
    pub actor: Option<String>,
    pub tenant_id: Option<String>,
    pub patient_id: Option<String>,
    pub first_at: UnixMillis,
    pub last_at: UnixMillis,
    pub count: i64,
    pub detail: String,
}

#[derive(Clone)]
pub struct UnscopedAnomalies {
    pool: AnyPool,
}

struct Finding {
    rule: &'static str,
    actor: Option<String>,
    tenant: Option<String>,
    patient: Option<String>,
    first: i64,
    last: i64,
    count: i64,
    detail: String,
}

impl UnscopedAnomalies {
    pub(crate) fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    async fn rule(
        &self,
        rule: &'static str,
        sql: &str,
        from: i64,
        to: i64,
        detail: impl Fn(i64) -> String,
    ) -> Result<Vec<Finding>, StoreError> {
        let rows = sqlx::query(crate::sql::numbered(sql.to_owned()))
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let count: i64 = r.try_get("n")?;
                Ok(Finding {
                    rule,
                    actor: r.try_get("actor")?,
                    tenant: r.try_get("tenant")?,
                    patient: r.try_get("patient")?,
                    first: r.try_get("first")?,
                    last: r.try_get("last")?,
                    count,
                    detail: detail(count),
                })
            })
            .collect()
    }

    /// Evaluate every rule over records in `[from, to]`; returns alerts not
    /// raised before (one per rule, subject and window).
    pub async fn scan(
        &self,
        from: i64,
        to: i64,
        t: AnomalyThresholds,
    ) -> Result<Vec<Alert>, StoreError> {
        let actor = "COALESCE(a.actor_kind || ':' || a.actor_id, 'anonymous@' || COALESCE(a.client_addr, '?'))";
        let mut found = self
            .rule(
                "honeytoken",
                &format!(
                    "SELECT {actor} AS actor, a.tenant_id AS tenant, a.patient_id AS patient, \
                     MIN(a.at) AS first, MAX(a.at) AS last, COUNT(*) AS n \
                     FROM audit_records a JOIN patients p ON p.id = a.patient_id AND p.tenant_id = a.tenant_id \
                     WHERE p.honeytoken = 1 AND a.at BETWEEN ?1 AND ?2 AND a.actor_kind <> 'system' \
                     AND a.action <> 'patient_create' GROUP BY 1, 2, 3"
                ),
                from,
                to,
                |n| format!("{n} access(es) to a decoy patient record"),
            )
            .await?;
        found.extend(
            self.rule(
                "many_patients",
                &format!(
                    "SELECT {actor} AS actor, NULL AS tenant, NULL AS patient, MIN(a.at) AS first, \
                     MAX(a.at) AS last, COUNT(DISTINCT a.patient_id) AS n FROM audit_records a \
                     WHERE a.at BETWEEN ?1 AND ?2 AND a.outcome = 'success' AND a.patient_id IS NOT NULL \
                     AND a.actor_kind <> 'system' GROUP BY 1 HAVING COUNT(DISTINCT a.patient_id) >= {}",
                    t.distinct_patients
                ),
                from,
                to,
                |n| format!("touched {n} distinct patients in one window"),
            )
            .await?,
        );
        found.extend(
            self.rule(
                "refused_burst",
                &format!(
                    "SELECT {actor} AS actor, NULL AS tenant, NULL AS patient, MIN(a.at) AS first, \
                     MAX(a.at) AS last, COUNT(*) AS n FROM audit_records a WHERE a.at BETWEEN ?1 AND ?2 \
                     AND a.outcome IN ('denied', 'not_found', 'probing') GROUP BY 1 HAVING COUNT(*) >= {}",
                    t.refused_lookups
                ),
                from,
                to,
                |n| format!("{n} refused or not-found lookups in one window"),
            )
            .await?,
        );
        found.extend(
            self.rule(
                "sequential_probing",
                &format!(
                    "SELECT {actor} AS actor, NULL AS tenant, NULL AS patient, MIN(a.at) AS first, \
                     MAX(a.at) AS last, COUNT(*) AS n FROM audit_records a WHERE a.at BETWEEN ?1 AND ?2 \
                     AND a.detail = 'malformed_id' GROUP BY 1 HAVING COUNT(*) >= {}",
                    t.malformed_ids
                ),
                from,
                to,
                |n| format!("{n} lookups of malformed (e.g. counted-up) identifiers"),
            )
            .await?,
        );
        let now = hippo_core::time_util::now_millis();
        let bucket = from / t.window_ms.max(1);
        let mut raised = Vec::new();
        for f in found {
            let dedup = match f.rule {
                // A decoy touch is one alert per actor and record, ever.
                "honeytoken" => format!("honeytoken|{:?}|{:?}", f.actor, f.patient),
                rule => format!("{rule}|{:?}|{bucket}", f.actor),
            };
            let alert = Alert {
                id: uuid::Uuid::new_v4().to_string(),
                rule: f.rule.into(),
                raised_at: now,
                actor: f.actor,
                tenant_id: f.tenant,
                patient_id: f.patient,
                first_at: f.first,
                last_at: f.last,
                count: f.count,
                detail: f.detail,
            };
            let inserted = sqlx::query(
                "INSERT INTO alerts (id, rule, raised_at, actor, tenant_id, patient_id, first_at, \
                 last_at, count, detail, dedup_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&alert.id)
            .bind(&alert.rule)
            .bind(alert.raised_at)
            .bind(&alert.actor)
            .bind(&alert.tenant_id)
            .bind(&alert.patient_id)
            .bind(alert.first_at)
            .bind(alert.last_at)
            .bind(alert.count)
            .bind(&alert.detail)
            .bind(dedup)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if inserted == 1 {
                raised.push(alert);
            }
        }
        Ok(raised)
    }

    /// Alerts raised so far, newest first.
    pub async fn alerts(&self, limit: i64) -> Result<Vec<Alert>, StoreError> {
        sqlx::query("SELECT * FROM alerts ORDER BY raised_at DESC, id LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(Alert {
                    id: r.try_get("id")?,
                    rule: r.try_get("rule")?,
                    raised_at: r.try_get("raised_at")?,
                    actor: r.try_get("actor")?,
                    tenant_id: r.try_get("tenant_id")?,
                    patient_id: r.try_get("patient_id")?,
                    first_at: r.try_get("first_at")?,
                    last_at: r.try_get("last_at")?,
                    count: r.try_get("count")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
