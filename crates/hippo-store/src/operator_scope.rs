//! What an operator can reach: tenant metadata, forensics over the audit
//! log and alerts. There is deliberately no method here that reads
//! patients, findings or PDFs.

use hippo_core::forensic_purpose::ForensicPurpose;
use hippo_core::policy::{Action, ResourceKind, ResourceRef};
use hippo_core::time_util::now_millis;
use hippo_core::{DomainError, Principal};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::admission::{Access, Admitted, Connections, Gatekeeper, Request, Statement};
use crate::anomalies::{Alert, UnscopedAnomalies};
use crate::error::StoreError;
use crate::forensics::{AccessPage, BlastRadius, ForensicFilter, UnscopedForensics};
use crate::incidents::{IncidentSummary, UnscopedIncidents};
use crate::model::TenantSummary;
use crate::rows::parse;
use crate::scoping::Scoping;
use crate::switches::{ChangeOutcome, SwitchChange, SwitchListing, UnscopedSwitches};

fn tenant_summary(r: &AnyRow) -> Result<TenantSummary, StoreError> {
    Ok(TenantSummary {
        id: parse(r, "id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        created_at: r.try_get("created_at")?,
        staff_count: r.try_get("staff_count")?,
        patient_count: r.try_get("patient_count")?,
        deleted_at: r.try_get("deleted_at")?,
    })
}

/// `GET /api/v1/tenants`: metadata and head counts, no patient data. The
/// platform is the operator's scope, so there is no fence predicate.
const TENANTS: Statement<TenantSummary> = Statement {
    sql: "SELECT t.id, t.name, t.kind, t.created_at, t.deleted_at, \
          (SELECT COUNT(*) FROM staff_users s WHERE s.tenant_id = t.id) AS staff_count, \
          (SELECT COUNT(*) FROM patients p WHERE p.tenant_id = t.id) AS patient_count \
          FROM tenants t ORDER BY t.name, t.id",
    map: tenant_summary,
    resource: |_| ResourceRef::Platform,
    kind: ResourceKind::Tenant,
};

#[derive(Clone)]
pub struct OperatorScope {
    gk: Gatekeeper,
    pool: AnyPool,
}

impl OperatorScope {
    /// Operators' statements have no fence predicate to bypass: the
    /// platform is their scope, and their scoping is always enforced.
    pub(crate) fn new(pool: AnyPool, principal: &Principal, request: Request) -> Option<Self> {
        if !matches!(principal, Principal::Operator { .. }) {
            return None;
        }
        let request = Request {
            scoping: Scoping::Enforced,
            ..request
        };
        Some(Self {
            gk: Gatekeeper::new(request, Connections::Main(pool.clone())),
            pool,
        })
    }

    async fn require_platform(&self, action: Action, what: &str) -> Result<(), StoreError> {
        let kind = match action {
            Action::TenantList => ResourceKind::Tenant,
            Action::SwitchList | Action::SwitchChange => ResourceKind::ServiceSwitch,
            Action::IncidentManage => ResourceKind::Incident,
            _ => ResourceKind::AuditRecord,
        };
        self.gk
            .require(action, &ResourceRef::Platform, kind, what)
            .await
    }

    pub async fn list_tenants(&self) -> Result<Admitted<Vec<TenantSummary>>, StoreError> {
        let action = self.gk.serving(&[Action::TenantList])?;
        self.require_platform(action, "all").await?;
        let tenants = self.gk.fetch_all(&TENANTS, |q| q, action).await?;
        let access = Access::default().detail(format!("listed={}", tenants.get().len()));
        self.gk
            .admit(tenants, ResourceKind::Tenant, vec![access])
            .await
    }

    /// The audit log's unscoped reader, once the policy let the operator
    /// through to it.
    /// A named incident must exist: a made-up ID is no purpose.
    async fn forensics(&self, purpose: &ForensicPurpose) -> Result<UnscopedForensics, StoreError> {
        let action = self.gk.serving(&[Action::ForensicsQuery])?;
        self.require_platform(action, "forensics").await?;
        if let Some(incident) = purpose.incident() {
            let known = sqlx::query("SELECT 1 FROM incidents WHERE id = $1")
                .bind(incident.to_string())
                .fetch_optional(&self.pool)
                .await?;
            if known.is_none() {
                return Err(DomainError::invalid("incident", "no such incident").into());
            }
        }
        Ok(UnscopedForensics::new(self.pool.clone()))
    }

    /// One page of accesses; the purpose leads the query's audit detail.
    pub async fn accesses(
        &self,
        filter: &ForensicFilter,
        purpose: &ForensicPurpose,
    ) -> Result<Admitted<AccessPage>, StoreError> {
        let page = self.forensics(purpose).await?.page(filter).await?;
        let access = Access::default().detail(format!(
            "{purpose} accesses={} of {} {filter:?}",
            page.records.len(),
            page.total
        ));
        let page = self.gk.checked(page);
        self.gk
            .admit(page, ResourceKind::AuditRecord, vec![access])
            .await
    }

    pub async fn blast_radius(
        &self,
        filter: &ForensicFilter,
        purpose: &ForensicPurpose,
    ) -> Result<Admitted<BlastRadius>, StoreError> {
        let report = self.forensics(purpose).await?.blast_radius(filter).await?;
        let access = Access::default().detail(format!(
            "{purpose} blast_radius={} {filter:?}",
            report.accesses
        ));
        let report = self.gk.checked(report);
        self.gk
            .admit(report, ResourceKind::AuditRecord, vec![access])
            .await
    }

    pub async fn alerts(&self, limit: i64) -> Result<Admitted<Vec<Alert>>, StoreError> {
        let action = self.gk.serving(&[Action::AlertList])?;
        self.require_platform(action, "alerts").await?;
        let alerts = UnscopedAnomalies::new(self.pool.clone())
            .alerts(limit)
            .await?;
        let access = Access::default().detail(format!("listed={}", alerts.len()));
        let alerts = self.gk.checked(alerts);
        self.gk
            .admit(alerts, ResourceKind::AuditRecord, vec![access])
            .await
    }

    /// Every incident with its deadline clock's inputs (operators' console).
    pub async fn incidents(&self) -> Result<Admitted<Vec<IncidentSummary>>, StoreError> {
        let action = self.gk.serving(&[Action::IncidentManage])?;
        self.require_platform(action, "incidents").await?;
        let incidents = self.incidents_store().summaries().await?;
        let access = Access::default().detail(format!("listed={}", incidents.len()));
        let incidents = self.gk.checked(incidents);
        self.gk
            .admit(incidents, ResourceKind::Incident, vec![access])
            .await
    }

    /// Open an incident from an alert: bounded by the alert's actor and
    /// window, aware since now (the 72-hour clock starts). The opening is
    /// audited in the incident's own transaction, naming this operator.
    pub async fn open_incident_from_alert(
        &self,
        alert_id: &str,
        title: &str,
    ) -> Result<String, StoreError> {
        let action = self.gk.serving(&[Action::IncidentManage])?;
        self.require_platform(action, "incidents").await?;
        let alert = UnscopedAnomalies::new(self.pool.clone())
            .alert(alert_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        // Alerts name actors as `kind:id`; an anonymous one
        // (`anonymous@address`) bounds the incident by its window only.
        let actor_id = alert
            .actor
            .as_deref()
            .and_then(|a| a.split_once(':'))
            .map(|(_, id)| id.to_owned());
        let filter = ForensicFilter {
            from: Some(alert.first_at),
            to: Some(alert.last_at),
            actor: actor_id,
            patient: alert.patient_id.clone(),
            ..Default::default()
        };
        let actor = &self.gk.actor;
        let (id, _) = self
            .incidents_store()
            .open_as(
                actor.actor.clone(),
                &actor.origin,
                title,
                now_millis(),
                &filter,
            )
            .await?;
        Ok(id)
    }

    fn incidents_store(&self) -> UnscopedIncidents {
        UnscopedIncidents::new(self.pool.clone(), self.gk.actor.audit.clone())
    }

    /// Every service switch and pending four-eyes request. Listing is
    /// recorded like every other operator query.
    pub async fn switches(&self) -> Result<Admitted<SwitchListing>, StoreError> {
        let action = self.gk.serving(&[Action::SwitchList])?;
        self.require_platform(action, "switches").await?;
        let listing = UnscopedSwitches::new(self.pool.clone(), self.gk.actor.audit.clone())
            .listing()
            .await?;
        let access = Access::default().detail(format!("listed={}", listing.switches.len()));
        let listing = self.gk.checked(listing);
        self.gk
            .admit(listing, ResourceKind::ServiceSwitch, vec![access])
            .await
    }

    /// Turn a service off or on; the change records itself (who, why,
    /// old and new state) in its own transaction.
    pub async fn change_switch(
        &self,
        change: &SwitchChange,
        four_eyes: bool,
    ) -> Result<ChangeOutcome, StoreError> {
        let action = self.gk.serving(&[Action::SwitchChange])?;
        self.require_platform(action, "switches").await?;
        let actor = &self.gk.actor;
        UnscopedSwitches::new(self.pool.clone(), actor.audit.clone())
            .change(actor.actor.clone(), &actor.origin, change, four_eyes)
            .await
    }
}
