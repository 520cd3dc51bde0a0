//! What a patient account can reach: released findings of the patient
//! records linked to that account. The account ID is in every statement
//! and every loaded finding is put to the policy gate.

use std::collections::BTreeMap;
use std::sync::Arc;

use hippo_core::audit::{AuditActor, RequestOrigin};
use hippo_core::policy::{AccessGate, Action, ResourceKind, ResourceRef};
use hippo_core::{AccountId, FindingId, PatientId, Principal, TenantId};
use sqlx::{AnyPool, Row};

use crate::actor::{Actor, outcome_success};
use crate::audit::AuditLog;
use crate::error::StoreError;
use crate::model::{AccessEntry, FindingDetail, FindingSummary};
use crate::queries;
use crate::rows::{FINDING_COLUMNS, finding_summary};
use crate::scoping::Scoping;
use crate::staff_scope::finding_ref;
use crate::tree_heads::InclusionProof;
use crate::vault::Vault;

/// Released findings whose (tenant, patient) is linked to the account.
/// Released findings whose (tenant, patient) is linked to the account. A
/// row-value IN rather than a correlated EXISTS, so that the list walks
/// the account's links and the findings index, not every finding.
const OWN_RELEASED: &str = "f.status = 'released' AND (f.tenant_id, f.patient_id) IN \
     (SELECT ap.tenant_id, ap.patient_id FROM account_patients ap WHERE ap.account_id = ?)";

#[derive(Clone)]
pub struct PatientScope {
    pool: AnyPool,
    vault: Vault,
    account: AccountId,
    actor: Actor,
    gate: Arc<dyn AccessGate>,
    scoping: Scoping,
}

impl PatientScope {
    pub(crate) fn new(
        pool: AnyPool,
        vault: Vault,
        audit: AuditLog,
        principal: &Principal,
        origin: RequestOrigin,
        gate: Arc<dyn AccessGate>,
        scoping: Scoping,
    ) -> Option<Self> {
        let Principal::Patient { account_id, .. } = principal else {
            return None;
        };
        Some(Self {
            pool,
            vault,
            account: *account_id,
            actor: Actor {
                audit,
                actor: AuditActor::of(principal),
                origin,
            },
            gate,
            scoping,
        })
    }

    fn own_released(&self) -> String {
        self.scoping.condition(OWN_RELEASED)
    }

    /// Own released findings across all linked facilities, newest first.
    /// One audit record per patient record whose data was shown.
    pub async fn findings(&self) -> Result<Vec<FindingSummary>, StoreError> {
        let action = Action::OwnFindingsList;
        if !self
            .gate
            .permits(action, &ResourceRef::Account(self.account))
        {
            return Err(self
                .actor
                .denied(action, ResourceKind::Finding, self.account)
                .await);
        }
        let findings = sqlx::query(crate::sql::numbered(format!(
            "SELECT {FINDING_COLUMNS} WHERE {} ORDER BY f.released_at DESC, f.id",
            self.own_released()
        )))
        .bind(self.account.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(finding_summary)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|f| {
            self.gate
                .permits(Action::FindingRead, &finding_ref(f, ResourceKind::Finding))
        })
        .collect::<Vec<_>>();
        let mut per_patient = BTreeMap::new();
        for f in &findings {
            *per_patient
                .entry((f.tenant_id, f.patient_id))
                .or_insert(0usize) += 1;
        }
        let mut events: Vec<_> = per_patient
            .into_iter()
            .map(|((tenant, patient), count)| {
                outcome_success(action, ResourceKind::Finding)
                    .concerning(tenant, Some(patient))
                    .detail(format!("listed={count}"))
            })
            .collect();
        if events.is_empty() {
            events.push(outcome_success(action, ResourceKind::Finding).detail("listed=0"));
        }
        self.actor.log_all(events).await?;
        Ok(findings)
    }

    async fn scoped_finding(
        &self,
        id: FindingId,
        action: Action,
        kind: ResourceKind,
    ) -> Result<FindingSummary, StoreError> {
        let row = sqlx::query(crate::sql::numbered(format!(
            "SELECT {FINDING_COLUMNS} WHERE f.id = ? AND {}",
            self.own_released()
        )))
        .bind(id.to_string())
        .bind(self.account.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let loaded = row.as_ref().map(finding_summary).transpose()?;
        self.actor
            .admit(
                loaded,
                |f| self.gate.permits(action, &finding_ref(f, kind)),
                action,
                kind,
                id,
            )
            .await
    }

    pub async fn finding(&self, id: FindingId) -> Result<FindingDetail, StoreError> {
        let summary = self
            .scoped_finding(id, Action::FindingRead, ResourceKind::Finding)
            .await?;
        queries::audited_detail(self.pool.acquire().await?, &self.actor, summary).await
    }

    pub async fn finding_pdf(
        &self,
        id: FindingId,
    ) -> Result<(FindingSummary, Vec<u8>), StoreError> {
        if self.scoping.drill_skips_owner_check() {
            return self.drill_unchecked_pdf(id).await;
        }
        let summary = self
            .scoped_finding(id, Action::FindingPdfDownload, ResourceKind::FindingPdf)
            .await?;
        queries::audited_pdf(&self.vault, &self.actor, summary).await
    }

    /// Every recorded access to the account's patient records, newest
    /// first (at most `limit`), except the holder's own looks at this list.
    pub async fn access_history(&self, limit: i64) -> Result<Vec<AccessEntry>, StoreError> {
        let action = Action::AccessLogRead;
        let kind = ResourceKind::AuditRecord;
        if !self
            .gate
            .permits(action, &ResourceRef::Account(self.account))
        {
            return Err(self.actor.denied(action, kind, self.account).await);
        }
        let own = self.scoping.condition(
            "EXISTS (SELECT 1 FROM account_patients ap WHERE ap.account_id = ?1 \
             AND ap.tenant_id = a.tenant_id AND ap.patient_id = a.patient_id)",
        );
        let rows = sqlx::query(crate::sql::numbered(format!(
            "SELECT a.id, a.at, a.actor_kind, a.actor_id, a.action, a.resource_kind, a.resource_id, \
             a.outcome, a.tenant_id, a.patient_id, t.name AS facility, \
             CASE WHEN t.show_staff_names_to_patients = 1 THEN s.display_name END AS staff_name \
             FROM audit_records a JOIN tenants t ON t.id = a.tenant_id \
             LEFT JOIN staff_users s ON s.id = a.actor_id AND s.tenant_id = a.tenant_id \
             WHERE a.patient_id IS NOT NULL AND a.actor_kind <> 'system' AND {own} \
             AND NOT (a.actor_id = ?1 AND a.action IN ('access_log_read', 'access_proof_read')) \
             ORDER BY a.seq DESC LIMIT ?2"
        )))
        .bind(self.account.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let me = self.account.to_string();
        let mut entries = Vec::with_capacity(rows.len());
        let mut seen = BTreeMap::new();
        for row in &rows {
            let tenant: TenantId = crate::rows::parse(row, "tenant_id")?;
            let patient: PatientId = crate::rows::parse(row, "patient_id")?;
            if !self.gate.permits(
                Action::AccessProofRead,
                &ResourceRef::AuditEntry { tenant, patient },
            ) {
                continue;
            }
            *seen.entry((tenant, patient)).or_insert(0usize) += 1;
            let actor: Option<String> = row.try_get("actor_id")?;
            entries.push(AccessEntry {
                id: row.try_get("id")?,
                at: row.try_get("at")?,
                facility: row.try_get("facility")?,
                actor_kind: row.try_get("actor_kind")?,
                by_self: actor.as_deref() == Some(me.as_str()),
                staff_name: row.try_get("staff_name")?,
                action: row.try_get("action")?,
                resource_kind: row.try_get("resource_kind")?,
                resource_id: row.try_get("resource_id")?,
                outcome: row.try_get("outcome")?,
            });
        }
        if seen.is_empty() {
            self.actor
                .log(outcome_success(action, kind).detail("listed=0"))
                .await?;
        }
        for ((tenant, patient), count) in seen {
            self.actor
                .log(
                    outcome_success(action, kind)
                        .concerning(tenant, Some(patient))
                        .detail(format!("listed={count}")),
                )
                .await?;
        }
        Ok(entries)
    }

    /// The inclusion proof of one access record about the account's own
    /// patient records; anything else is not found.
    pub async fn access_proof(&self, id: &str) -> Result<InclusionProof, StoreError> {
        let action = Action::AccessProofRead;
        let kind = ResourceKind::AuditRecord;
        let own = self.scoping.condition(
            "EXISTS (SELECT 1 FROM account_patients ap WHERE ap.account_id = ? \
             AND ap.tenant_id = a.tenant_id AND ap.patient_id = a.patient_id)",
        );
        let row = sqlx::query(crate::sql::numbered(format!(
            "SELECT a.tenant_id, a.patient_id FROM audit_records a \
             WHERE a.id = ? AND a.patient_id IS NOT NULL AND {own}"
        )))
        .bind(id)
        .bind(self.account.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let loaded = row
            .map(|r| -> Result<(TenantId, PatientId), StoreError> {
                Ok((
                    crate::rows::parse(&r, "tenant_id")?,
                    crate::rows::parse(&r, "patient_id")?,
                ))
            })
            .transpose()?;
        let permitted = |&(tenant, patient): &(TenantId, PatientId)| {
            self.gate
                .permits(action, &ResourceRef::AuditEntry { tenant, patient })
        };
        let (tenant, patient) = self
            .actor
            .admit(loaded, permitted, action, kind, id)
            .await?;
        let proof = self.actor.audit.inclusion_proof(id).await?;
        self.actor
            .log(
                outcome_success(action, kind)
                    .resource(id)
                    .concerning(tenant, Some(patient)),
            )
            .await?;
        Ok(proof)
    }

    /// The drill's bug: any released finding by ID, no owner, no gate.
    async fn drill_unchecked_pdf(
        &self,
        id: FindingId,
    ) -> Result<(FindingSummary, Vec<u8>), StoreError> {
        let action = Action::FindingPdfDownload;
        let kind = ResourceKind::FindingPdf;
        let row = sqlx::query(crate::sql::numbered(format!(
            "SELECT {FINDING_COLUMNS} WHERE f.id = ? AND f.status = 'released'"
        )))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        match row.as_ref().map(finding_summary).transpose()? {
            None => Err(self.actor.not_found(action, kind, id).await),
            Some(summary) => queries::audited_pdf(&self.vault, &self.actor, summary).await,
        }
    }
}
