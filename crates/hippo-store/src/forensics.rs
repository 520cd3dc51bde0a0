//! Forensic queries over the audit log: who accessed what, when, through
//! which route and build; and the blast radius of an incident. This is the
//! operators' unscoped view of the log (records reference patients by ID,
//! never by content); the HTTP API reaches it only through `OperatorScope`.

use std::collections::{BTreeMap, BTreeSet};

use hippo_core::time_util::UnixMillis;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::error::StoreError;

/// What to select. Empty lists and `None` mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ForensicFilter {
    pub from: Option<UnixMillis>,
    pub to: Option<UnixMillis>,
    pub actor: Option<String>,
    pub patient: Option<String>,
    pub tenant: Option<String>,
    pub actions: Vec<String>,
    /// Routes as declared, e.g. `GET /api/v1/findings/{id}/pdf`.
    pub routes: Vec<String>,
    pub builds: Vec<String>,
    pub outcome: Option<String>,
    pub limit: Option<i64>,
    /// Continue after this cursor (from [`AccessPage::next`]).
    pub after: Option<String>,
}

/// One page of accesses, with the totals of the whole selection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccessPage {
    /// Matching records in total (all pages).
    pub total: u64,
    /// First and last access of the whole selection.
    pub first: Option<UnixMillis>,
    pub last: Option<UnixMillis>,
    pub records: Vec<AccessRecord>,
    /// Cursor for the next page; `None` on the last one.
    pub next: Option<String>,
}

/// Records per page when the caller does not say.
pub const DEFAULT_PAGE: i64 = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccessRecord {
    /// Position in the log.
    pub seq: u64,
    pub id: String,
    pub at: UnixMillis,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_tenant_id: Option<String>,
    pub action: String,
    pub route: Option<String>,
    pub resource_kind: String,
    pub resource_id: Option<String>,
    pub patient_id: Option<String>,
    pub tenant_id: Option<String>,
    pub outcome: String,
    pub build: String,
    pub client_addr: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AffectedPatient {
    pub patient_id: String,
    pub accesses: u64,
    pub first: UnixMillis,
    pub last: UnixMillis,
    pub actors: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AffectedTenant {
    pub tenant_id: String,
    pub tenant_name: String,
    pub accesses: u64,
    pub patients: Vec<AffectedPatient>,
}

/// Every access in which the actor was neither the patient's own account
/// nor staff (or lab system) of the patient's tenant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BlastRadius {
    pub filter_from: Option<UnixMillis>,
    pub filter_to: Option<UnixMillis>,
    pub accesses: u64,
    pub first: Option<UnixMillis>,
    pub last: Option<UnixMillis>,
    pub actors: BTreeMap<String, u64>,
    pub tenants: Vec<AffectedTenant>,
    /// The unauthorised accesses themselves, oldest first.
    pub records: Vec<AccessRecord>,
}

#[derive(Clone)]
pub struct UnscopedForensics {
    pool: AnyPool,
}

fn record(r: &AnyRow) -> Result<AccessRecord, StoreError> {
    Ok(AccessRecord {
        seq: r.try_get::<i64, _>("seq")? as u64,
        id: r.try_get("id")?,
        at: r.try_get("at")?,
        actor_kind: r.try_get("actor_kind")?,
        actor_id: r.try_get("actor_id")?,
        actor_tenant_id: r.try_get("actor_tenant_id")?,
        action: r.try_get("action")?,
        route: r.try_get("route")?,
        resource_kind: r.try_get("resource_kind")?,
        resource_id: r.try_get("resource_id")?,
        patient_id: r.try_get("patient_id")?,
        tenant_id: r.try_get("tenant_id")?,
        outcome: r.try_get("outcome")?,
        build: r.try_get("build")?,
        client_addr: r.try_get("client_addr")?,
    })
}

const COLUMNS: &str = "a.seq, a.id, a.at, a.actor_kind, a.actor_id, a.actor_tenant_id, a.action, a.route, \
     a.resource_kind, a.resource_id, a.patient_id, a.tenant_id, a.outcome, a.build, a.client_addr";

/// Successful accesses by someone with no claim to the record: not the
/// patient's own account, not staff or a lab system of the patient's
/// tenant (classified when the record was written; the partial index
/// `audit_unclaimed` holds just these records).
const UNAUTHORISED: &str = "a.claim = 'none' AND a.outcome = 'success'";

/// What a selection adds to the filter's condition.
#[derive(Clone, Copy)]
enum Extra {
    Nothing,
    Unauthorised,
}

/// A cursor is `<at>.<seq>` of the last record of the previous page.
fn parse_cursor(cursor: &str) -> Result<(i64, i64), StoreError> {
    cursor
        .split_once('.')
        .and_then(|(at, seq)| Some((at.parse().ok()?, seq.parse().ok()?)))
        .ok_or_else(|| {
            StoreError::Domain(hippo_core::DomainError::invalid(
                "after",
                "not a page cursor from a previous page's `next`",
            ))
        })
}

impl UnscopedForensics {
    pub(crate) fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// SQL condition and bind values for a filter (values bound in order).
    fn condition(filter: &ForensicFilter) -> (String, Vec<String>) {
        let mut parts = vec!["1 = 1".to_owned()];
        let mut binds = Vec::new();
        let mut one = |column: &str, value: &Option<String>| {
            if let Some(v) = value {
                parts.push(format!("a.{column} = ?"));
                binds.push(v.clone());
            }
        };
        one("actor_id", &filter.actor);
        one("patient_id", &filter.patient);
        one("tenant_id", &filter.tenant);
        one("outcome", &filter.outcome);
        for (column, values) in [
            ("action", &filter.actions),
            ("route", &filter.routes),
            ("build", &filter.builds),
        ] {
            if !values.is_empty() {
                parts.push(format!(
                    "a.{column} IN ({})",
                    vec!["?"; values.len()].join(", ")
                ));
                binds.extend(values.iter().cloned());
            }
        }
        if let Some(from) = filter.from {
            parts.push(format!("a.at >= {from}"));
        }
        if let Some(to) = filter.to {
            parts.push(format!("a.at <= {to}"));
        }
        (parts.join(" AND "), binds)
    }

    async fn select(
        &self,
        filter: &ForensicFilter,
        extra: Extra,
    ) -> Result<Vec<AccessRecord>, StoreError> {
        let (condition, binds) = Self::condition(filter);
        let limit = filter.limit.unwrap_or(100_000).clamp(1, 1_000_000);
        // Keyset paging on the sort key (at, seq): each page is an index
        // range, however deep into the selection it starts.
        let after = match filter.after.as_deref() {
            None => String::new(),
            Some(cursor) => {
                let (at, seq) = parse_cursor(cursor)?;
                format!(" AND (a.at, a.seq) > ({at}, {seq})")
            }
        };
        let (extra, source) = match extra {
            Extra::Nothing => ("1 = 1", "audit_records a"),
            // Unclaimed accesses are few, and their partial index holds
            // just them; without statistics SQLite would rather walk an
            // equality index (say, every record of a route) and filter,
            // which grows with the log. PostgreSQL plans from statistics.
            Extra::Unauthorised => (
                UNAUTHORISED,
                match crate::sql::Backend::of_pool(&self.pool) {
                    crate::sql::Backend::Sqlite => "audit_records a INDEXED BY audit_unclaimed",
                    crate::sql::Backend::Postgres => "audit_records a",
                },
            ),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM {source} WHERE {condition}{after} AND {extra} ORDER BY a.at, a.seq LIMIT {limit}"
        );
        let mut query = sqlx::query(crate::sql::numbered(sql));
        for b in binds {
            query = query.bind(b);
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(record)
            .collect()
    }

    /// Accesses matching the filter, oldest first.
    pub async fn accesses(&self, filter: &ForensicFilter) -> Result<Vec<AccessRecord>, StoreError> {
        self.select(filter, Extra::Nothing).await
    }

    /// One page of accesses (`filter.limit` records, default
    /// [`DEFAULT_PAGE`], after `filter.after`), with the count and the
    /// first and last access of the whole selection.
    pub async fn page(&self, filter: &ForensicFilter) -> Result<AccessPage, StoreError> {
        let (condition, binds) = Self::condition(filter);
        let mut summary = sqlx::query(crate::sql::numbered(format!(
            "SELECT COUNT(*) AS n, MIN(a.at) AS first, MAX(a.at) AS last FROM audit_records a WHERE {condition}"
        )));
        for b in &binds {
            summary = summary.bind(b.clone());
        }
        let summary = summary.fetch_one(&self.pool).await?;
        let size = filter.limit.unwrap_or(DEFAULT_PAGE).clamp(1, 100_000);
        let mut records = self
            .select(
                &ForensicFilter {
                    limit: Some(size + 1),
                    ..filter.clone()
                },
                Extra::Nothing,
            )
            .await?;
        let next = if records.len() as i64 > size {
            records.truncate(size as usize);
            records.last().map(|r| format!("{}.{}", r.at, r.seq))
        } else {
            None
        };
        Ok(AccessPage {
            total: summary.try_get::<i64, _>("n")? as u64,
            first: summary.try_get("first")?,
            last: summary.try_get("last")?,
            records,
            next,
        })
    }

    pub async fn blast_radius(&self, filter: &ForensicFilter) -> Result<BlastRadius, StoreError> {
        let records = self.select(filter, Extra::Unauthorised).await?;
        let names: BTreeMap<String, String> = sqlx::query("SELECT id, name FROM tenants")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
            .collect::<Result<_, StoreError>>()?;
        let mut tenants: BTreeMap<String, BTreeMap<String, AffectedPatient>> = BTreeMap::new();
        let mut actors: BTreeMap<String, u64> = BTreeMap::new();
        for r in &records {
            let tenant = r.tenant_id.clone().unwrap_or_default();
            let patient = r.patient_id.clone().unwrap_or_default();
            let actor = format!(
                "{}:{}",
                r.actor_kind,
                r.actor_id.clone().unwrap_or_default()
            );
            *actors.entry(actor.clone()).or_default() += 1;
            let entry = tenants
                .entry(tenant)
                .or_default()
                .entry(patient.clone())
                .or_insert_with(|| AffectedPatient {
                    patient_id: patient,
                    accesses: 0,
                    first: r.at,
                    last: r.at,
                    actors: BTreeSet::new(),
                });
            entry.accesses += 1;
            entry.first = entry.first.min(r.at);
            entry.last = entry.last.max(r.at);
            entry.actors.insert(actor);
        }
        Ok(BlastRadius {
            filter_from: filter.from,
            filter_to: filter.to,
            accesses: records.len() as u64,
            first: records.first().map(|r| r.at),
            last: records.last().map(|r| r.at),
            actors,
            tenants: tenants
                .into_iter()
                .map(|(tenant_id, patients)| AffectedTenant {
                    tenant_name: names.get(&tenant_id).cloned().unwrap_or_default(),
                    accesses: patients.values().map(|p| p.accesses).sum(),
                    tenant_id,
                    patients: patients.into_values().collect(),
                })
                .collect(),
            records,
        })
    }
}
