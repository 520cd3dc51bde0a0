//! What an operator can reach: tenant metadata. There is deliberately no
//! method here that reads patients, findings or PDFs.

use std::sync::Arc;

use hippo_core::Principal;
use hippo_core::audit::{AuditActor, RequestOrigin};
use hippo_core::policy::{AccessGate, Action, ResourceKind, ResourceRef};
use sqlx::{AnyPool, Row};

use crate::actor::{Actor, outcome_success};
use crate::anomalies::{Alert, Anomalies};
use crate::audit::AuditLog;
use crate::error::StoreError;
use crate::forensics::{AccessPage, BlastRadius, ForensicFilter, Forensics};
use crate::model::TenantSummary;
use crate::rows::parse;

#[derive(Clone)]
pub struct OperatorScope {
    pool: AnyPool,
    actor: Actor,
    gate: Arc<dyn AccessGate>,
}

impl OperatorScope {
    pub(crate) fn new(
        pool: AnyPool,
        audit: AuditLog,
        principal: &Principal,
        origin: RequestOrigin,
        gate: Arc<dyn AccessGate>,
    ) -> Option<Self> {
        if !matches!(principal, Principal::Operator { .. }) {
            return None;
        }
        Some(Self {
            pool,
            actor: Actor {
                audit,
                actor: AuditActor::of(principal),
                origin,
            },
            gate,
        })
    }

    pub async fn list_tenants(&self) -> Result<Vec<TenantSummary>, StoreError> {
        let action = Action::TenantList;
        if !self.gate.permits(action, &ResourceRef::Platform) {
            return Err(self.actor.denied(action, ResourceKind::Tenant, "all").await);
        }
        let tenants = sqlx::query(
            "SELECT t.id, t.name, t.kind, t.created_at, t.deleted_at, \
             (SELECT COUNT(*) FROM staff_users s WHERE s.tenant_id = t.id) AS staff_count, \
             (SELECT COUNT(*) FROM patients p WHERE p.tenant_id = t.id) AS patient_count \
             FROM tenants t ORDER BY t.name, t.id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(TenantSummary {
                id: parse(r, "id")?,
                name: r.try_get("name")?,
                kind: r.try_get("kind")?,
                created_at: r.try_get("created_at")?,
                staff_count: r.try_get("staff_count")?,
                patient_count: r.try_get("patient_count")?,
                deleted_at: r.try_get("deleted_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        self.actor
            .log(
                outcome_success(action, ResourceKind::Tenant)
                    .detail(format!("listed={}", tenants.len())),
            )
            .await?;
        Ok(tenants)
    }

    async fn require_forensics(&self) -> Result<Forensics, StoreError> {
        let action = Action::ForensicsQuery;
        if !self.gate.permits(action, &ResourceRef::Platform) {
            return Err(self
                .actor
                .denied(action, ResourceKind::AuditRecord, "forensics")
                .await);
        }
        Ok(Forensics::new(self.pool.clone()))
    }

    pub async fn accesses(&self, filter: &ForensicFilter) -> Result<AccessPage, StoreError> {
        let page = self.require_forensics().await?.page(filter).await?;
        self.actor
            .log(
                outcome_success(Action::ForensicsQuery, ResourceKind::AuditRecord).detail(format!(
                    "accesses={} of {} {filter:?}",
                    page.records.len(),
                    page.total
                )),
            )
            .await?;
        Ok(page)
    }

    pub async fn blast_radius(&self, filter: &ForensicFilter) -> Result<BlastRadius, StoreError> {
        let report = self.require_forensics().await?.blast_radius(filter).await?;
        self.actor
            .log(
                outcome_success(Action::ForensicsQuery, ResourceKind::AuditRecord)
                    .detail(format!("blast_radius={} {filter:?}", report.accesses)),
            )
            .await?;
        Ok(report)
    }

    pub async fn alerts(&self, limit: i64) -> Result<Vec<Alert>, StoreError> {
        let action = Action::AlertList;
        if !self.gate.permits(action, &ResourceRef::Platform) {
            return Err(self
                .actor
                .denied(action, ResourceKind::AuditRecord, "alerts")
                .await);
        }
        let alerts = Anomalies::new(self.pool.clone()).alerts(limit).await?;
        self.actor
            .log(
                outcome_success(action, ResourceKind::AuditRecord)
                    .detail(format!("listed={}", alerts.len())),
            )
            .await?;
        Ok(alerts)
    }
}
