//! Anomaly rules over the audit log. Hand-rolled: they are Hippo's core
//! (what an incident looks like in this domain) and plain SQL over the
//! log's indexes. They run continuously in the server over a sliding
//! window and on demand over history.

use hippo_core::time_util::UnixMillis;
use serde::Serialize;
use sqlx::{AnyPool, Row};
use std::collections::HashMap;

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
    /// Rate-limited login attempts against one account, or from one
    /// client address, that make a lockout storm.
    pub rate_limited_logins: i64,
}

impl Default for AnomalyThresholds {
    fn default() -> Self {
        Self {
            window_ms: 10 * 60 * 1000,
            distinct_patients: 50,
            refused_lookups: 30,
            malformed_ids: 3,
            rate_limited_logins: 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub id: String,
    /// `honeytoken`, `many_patients`, `refused_burst`, `sequential_probing`,
    /// `lockout_storm` (actor `account:<id>` for the targeted account, or
    /// `anonymous@<address>` for the source).
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

/// Who acted, as the rules name them.
const ACTOR: &str =
    "COALESCE(a.actor_kind || ':' || a.actor_id, 'anonymous@' || COALESCE(a.client_addr, '?'))";

/// The records "one actor, many patients" counts, in both its forms (the
/// SQL rule over history and the watcher's window). The staff inbox is
/// left out: one page records every patient it lists (so that each sees
/// it in their access history), and counting those would raise the alert
/// on every inbox view, as counting the patient list would; opening the
/// threads or records themselves still counts.
const PATIENT_ACCESSES: &str = "a.outcome = 'success' AND a.patient_id IS NOT NULL \
     AND a.actor_kind <> 'system' AND a.action <> 'thread_list'";

fn many_patients_detail(n: i64) -> String {
    format!("touched {n} distinct patients in one window")
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

    /// Evaluate every rule over records in `[from, to]` (history, window by
    /// window); returns alerts not raised before (one per rule, subject and
    /// window).
    pub async fn scan(
        &self,
        from: i64,
        to: i64,
        t: AnomalyThresholds,
    ) -> Result<Vec<Alert>, StoreError> {
        let mut found = self.window_rules(from, to, t).await?;
        found.extend(
            self.rule(
                "many_patients",
                &format!(
                    "SELECT {ACTOR} AS actor, NULL AS tenant, NULL AS patient, MIN(a.at) AS first, \
                     MAX(a.at) AS last, COUNT(DISTINCT a.patient_id) AS n FROM audit_records a \
                     WHERE a.at BETWEEN ?1 AND ?2 AND {PATIENT_ACCESSES} \
                     GROUP BY 1 HAVING COUNT(DISTINCT a.patient_id) >= {}",
                    t.distinct_patients
                ),
                from,
                to,
                many_patients_detail,
            )
            .await?,
        );
        self.raise(found, from, t).await
    }

    /// The server's continuous scan of the window ending `now`: the same
    /// rules as [`Self::scan`], but "one actor, many patients" comes from
    /// `window`, which reads only the records appended since the last
    /// scan. (Its SQL form reads every record of the window each time:
    /// over a second per scan at 1,000 records/s, taken from requests.)
    pub async fn watch(
        &self,
        window: &mut ManyPatientsWindow,
        now: i64,
        t: AnomalyThresholds,
    ) -> Result<Vec<Alert>, StoreError> {
        let from = now - t.window_ms;
        let mut found = self.window_rules(from, now, t).await?;
        window.advance(&self.pool, from, t).await?;
        found.extend(window.findings(from, t));
        self.raise(found, from, t).await
    }

    /// The rules whose records are rare (decoy patients, refusals,
    /// malformed IDs): each reads only its own records, through a partial
    /// index or the decoy patients' index ranges.
    async fn window_rules(
        &self,
        from: i64,
        to: i64,
        t: AnomalyThresholds,
    ) -> Result<Vec<Finding>, StoreError> {
        // CROSS JOIN makes SQLite start from the few decoy patients and
        // look up their records by the patient index, instead of reading
        // the window. Patient IDs are unique across tenants, so the
        // record's tenant is not matched: a decoy's ID in another
        // tenant's record is an alert too.
        let mut found = self
            .rule(
                "honeytoken",
                &format!(
                    "SELECT {ACTOR} AS actor, a.tenant_id AS tenant, a.patient_id AS patient, \
                     MIN(a.at) AS first, MAX(a.at) AS last, COUNT(*) AS n \
                     FROM patients p CROSS JOIN audit_records a \
                     WHERE p.honeytoken = 1 AND a.patient_id = p.id \
                     AND a.at BETWEEN ?1 AND ?2 AND a.actor_kind <> 'system' \
                     AND a.action <> 'patient_create' GROUP BY 1, 2, 3"
                ),
                from,
                to,
                |n| format!("{n} access(es) to a decoy patient record"),
            )
            .await?;
        found.extend(
            self.rule(
                "refused_burst",
                &format!(
                    "SELECT {ACTOR} AS actor, NULL AS tenant, NULL AS patient, MIN(a.at) AS first, \
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
                    "SELECT {ACTOR} AS actor, NULL AS tenant, NULL AS patient, MIN(a.at) AS first, \
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
        // Lockout storms: someone guessing one account (from anywhere), or
        // one address guessing (any accounts). The login flow records the
        // targeted account as the resource of every rate-limited attempt.
        for (subject, filter) in [
            (
                "'account:' || a.resource_id",
                "a.action = 'login' AND a.resource_id IS NOT NULL",
            ),
            (ACTOR, "a.action = 'login'"),
        ] {
            found.extend(
                self.rule(
                    "lockout_storm",
                    &format!(
                        "SELECT {subject} AS actor, NULL AS tenant, NULL AS patient, MIN(a.at) AS first, \
                         MAX(a.at) AS last, COUNT(*) AS n FROM audit_records a WHERE a.at BETWEEN ?1 AND ?2 \
                         AND a.outcome = 'rate_limited' AND {filter} GROUP BY 1 HAVING COUNT(*) >= {}",
                        t.rate_limited_logins
                    ),
                    from,
                    to,
                    |n| format!("{n} rate-limited login attempts in one window"),
                )
                .await?,
            );
        }
        Ok(found)
    }

    /// Store what was found as alerts; returns those not raised before.
    async fn raise(
        &self,
        found: Vec<Finding>,
        from: i64,
        t: AnomalyThresholds,
    ) -> Result<Vec<Alert>, StoreError> {
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
            .map(alert_of)
            .collect()
    }

    /// One alert by ID (to open an incident from it).
    pub async fn alert(&self, id: &str) -> Result<Option<Alert>, StoreError> {
        sqlx::query("SELECT * FROM alerts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(alert_of)
            .transpose()
    }
}

fn alert_of(r: &sqlx::any::AnyRow) -> Result<Alert, StoreError> {
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
}

/// Distinct patients per actor whose records fall in the sliding window,
/// kept current from the records appended since the last scan; each record
/// is read once. Per actor at most [`ManyPatientsWindow::cap`] patients are
/// kept: past the threshold the alert is certain, and the count says "at
/// least".
#[derive(Default)]
pub struct ManyPatientsWindow {
    /// Records up to this position are counted; `None` before the first
    /// scan.
    counted_to: Option<i64>,
    /// actor → patient → (first, last) access time.
    touched: HashMap<String, HashMap<String, (i64, i64)>>,
}

/// Records read per statement while catching up.
const NEW_RECORDS_PER_STATEMENT: i64 = 50_000;

impl ManyPatientsWindow {
    fn cap(t: AnomalyThresholds) -> usize {
        (t.distinct_patients.max(1) as usize).saturating_mul(4)
    }

    /// Count the records appended since the last call, then forget
    /// accesses older than `from`.
    async fn advance(
        &mut self,
        pool: &AnyPool,
        from: i64,
        t: AnomalyThresholds,
    ) -> Result<(), StoreError> {
        let newest: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM audit_records")
            .fetch_one(pool)
            .await?
            .try_get("n")?;
        let mut counted_to = match self.counted_to {
            Some(seq) => seq,
            // First scan: start at the window's first record.
            None => sqlx::query(
                "SELECT COALESCE(MIN(seq), $2 + 1) - 1 AS n FROM audit_records WHERE at >= $1",
            )
            .bind(from)
            .bind(newest)
            .fetch_one(pool)
            .await?
            .try_get("n")?,
        };
        let cap = Self::cap(t);
        while counted_to < newest {
            let upto = newest.min(counted_to + NEW_RECORDS_PER_STATEMENT);
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {ACTOR} AS actor, a.patient_id AS patient, a.at AS at FROM audit_records a \
                 WHERE a.seq > $1 AND a.seq <= $2 AND {PATIENT_ACCESSES}"
            )))
            .bind(counted_to)
            .bind(upto)
            .fetch_all(pool)
            .await?;
            for row in &rows {
                let at: i64 = row.try_get("at")?;
                if at < from {
                    continue;
                }
                let patients = self.touched.entry(row.try_get("actor")?).or_default();
                let patient: String = row.try_get("patient")?;
                let full = patients.len() >= cap;
                match patients.get_mut(&patient) {
                    Some((first, last)) => {
                        *first = (*first).min(at);
                        *last = (*last).max(at);
                    }
                    None if !full => {
                        patients.insert(patient, (at, at));
                    }
                    None => {}
                }
            }
            counted_to = upto;
        }
        self.counted_to = Some(counted_to);
        for patients in self.touched.values_mut() {
            patients.retain(|_, (_, last)| *last >= from);
            for (first, _) in patients.values_mut() {
                *first = (*first).max(from);
            }
        }
        self.touched.retain(|_, patients| !patients.is_empty());
        Ok(())
    }

    fn findings(&self, from: i64, t: AnomalyThresholds) -> Vec<Finding> {
        self.touched
            .iter()
            .filter(|(_, patients)| patients.len() as i64 >= t.distinct_patients)
            .map(|(actor, patients)| {
                let count = patients.len() as i64;
                let detail = if patients.len() >= Self::cap(t) {
                    format!("touched at least {count} distinct patients in one window")
                } else {
                    many_patients_detail(count)
                };
                Finding {
                    rule: "many_patients",
                    actor: Some(actor.clone()),
                    tenant: None,
                    patient: None,
                    first: patients.values().map(|(f, _)| *f).min().unwrap_or(from),
                    last: patients.values().map(|(_, l)| *l).max().unwrap_or(from),
                    count,
                    detail,
                }
            })
            .collect()
    }
}
