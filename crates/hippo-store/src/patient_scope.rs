//! What a patient account can reach: released findings of the patient
//! records linked to that account. The account ID is in every statement
//! and every loaded finding is put to the policy gate.

use std::collections::BTreeMap;
use std::sync::Arc;

use hippo_core::audit::{AuditActor, RequestOrigin};
use hippo_core::policy::{AccessGate, Action, ResourceKind, ResourceRef};
use hippo_core::{AccountId, FindingId, Principal};
use sqlx::{AssertSqlSafe, SqlitePool};

use crate::actor::{Actor, outcome_success};
use crate::audit::AuditLog;
use crate::error::StoreError;
use crate::model::{FindingDetail, FindingSummary};
use crate::queries;
use crate::rows::{FINDING_COLUMNS, finding_summary};
use crate::scoping::Scoping;
use crate::staff_scope::finding_ref;

/// Released findings whose (tenant, patient) is linked to the account.
const OWN_RELEASED: &str = "f.status = 'released' AND EXISTS (SELECT 1 FROM account_patients ap \
     WHERE ap.account_id = ? AND ap.tenant_id = f.tenant_id AND ap.patient_id = f.patient_id)";

#[derive(Clone)]
pub struct PatientScope {
    pool: SqlitePool,
    account: AccountId,
    actor: Actor,
    gate: Arc<dyn AccessGate>,
    scoping: Scoping,
}

impl PatientScope {
    pub(crate) fn new(
        pool: SqlitePool,
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
        let findings = sqlx::query(AssertSqlSafe(format!(
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
        if per_patient.is_empty() {
            self.actor
                .log(outcome_success(action, ResourceKind::Finding).detail("listed=0"))
                .await?;
        }
        for ((tenant, patient), count) in per_patient {
            self.actor
                .log(
                    outcome_success(action, ResourceKind::Finding)
                        .concerning(tenant, Some(patient))
                        .detail(format!("listed={count}")),
                )
                .await?;
        }
        Ok(findings)
    }

    async fn scoped_finding(
        &self,
        id: FindingId,
        action: Action,
        kind: ResourceKind,
    ) -> Result<FindingSummary, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {FINDING_COLUMNS} WHERE f.id = ? AND {}",
            self.own_released()
        )))
        .bind(id.to_string())
        .bind(self.account.to_string())
        .fetch_optional(&self.pool)
        .await?;
        match row.as_ref().map(finding_summary).transpose()? {
            None => Err(self.actor.not_found(action, kind, id).await),
            Some(f) if !self.gate.permits(action, &finding_ref(&f, kind)) => {
                Err(self.actor.denied(action, kind, id).await)
            }
            Some(f) => Ok(f),
        }
    }

    pub async fn finding(&self, id: FindingId) -> Result<FindingDetail, StoreError> {
        let summary = self
            .scoped_finding(id, Action::FindingRead, ResourceKind::Finding)
            .await?;
        queries::audited_detail(&self.pool, &self.actor, summary).await
    }

    pub async fn finding_pdf(
        &self,
        id: FindingId,
    ) -> Result<(FindingSummary, Vec<u8>), StoreError> {
        let summary = self
            .scoped_finding(id, Action::FindingPdfDownload, ResourceKind::FindingPdf)
            .await?;
        queries::audited_pdf(&self.pool, &self.actor, summary).await
    }
}
