//! What a patient account can reach: released findings of the patient
//! records linked to that account. The account ID is in every statement;
//! the link table decides which (tenant, patient) pairs it covers.

use std::collections::BTreeMap;

use hippo_core::audit::{AuditActor, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::{AccountId, FindingId, Principal};
use sqlx::{AssertSqlSafe, SqlitePool};

use crate::actor::{Actor, outcome_success};
use crate::audit::AuditLog;
use crate::error::StoreError;
use crate::model::{FindingDetail, FindingSummary};
use crate::queries;
use crate::rows::{FINDING_COLUMNS, finding_summary};

/// Released findings whose (tenant, patient) is linked to the account.
const OWN_RELEASED: &str = "f.status = 'released' AND EXISTS (SELECT 1 FROM account_patients ap \
     WHERE ap.account_id = ? AND ap.tenant_id = f.tenant_id AND ap.patient_id = f.patient_id)";

#[derive(Clone)]
pub struct PatientScope {
    pool: SqlitePool,
    account: AccountId,
    actor: Actor,
}

impl PatientScope {
    pub(crate) fn new(
        pool: SqlitePool,
        audit: AuditLog,
        principal: &Principal,
        origin: RequestOrigin,
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
        })
    }

    /// Own released findings across all linked facilities, newest first.
    /// One audit record per patient record whose data was shown.
    pub async fn findings(&self) -> Result<Vec<FindingSummary>, StoreError> {
        let findings = sqlx::query(AssertSqlSafe(format!(
            "SELECT {FINDING_COLUMNS} WHERE {OWN_RELEASED} ORDER BY f.released_at DESC, f.id"
        )))
        .bind(self.account.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(finding_summary)
        .collect::<Result<Vec<_>, _>>()?;
        let mut per_patient = BTreeMap::new();
        for f in &findings {
            *per_patient
                .entry((f.tenant_id, f.patient_id))
                .or_insert(0usize) += 1;
        }
        let action = Action::OwnFindingsList;
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
            "SELECT {FINDING_COLUMNS} WHERE f.id = ? AND {OWN_RELEASED}"
        )))
        .bind(id.to_string())
        .bind(self.account.to_string())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => finding_summary(&row),
            None => Err(self.actor.not_found(action, kind, id).await),
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
