//! Queries shared by the staff and patient scopes. Each takes the tenant of
//! an already scope-checked finding and filters on it again, so a caller
//! passing a wrong pair gets nothing.

use hippo_core::finding::Observation;
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::{FindingId, TenantId};
use sqlx::{Row, SqlitePool};

use crate::actor::{Actor, outcome_success};
use crate::error::StoreError;
use crate::model::{FindingDetail, FindingSummary};
use crate::rows::observation;

pub(crate) async fn observations(
    pool: &SqlitePool,
    tenant: TenantId,
    finding: FindingId,
) -> Result<Vec<Observation>, StoreError> {
    sqlx::query(
        "SELECT code, display, value_numeric, value_text, unit, reference_low, reference_high, flag \
         FROM observations WHERE tenant_id = ? AND finding_id = ? ORDER BY position",
    )
    .bind(tenant.to_string())
    .bind(finding.to_string())
    .fetch_all(pool)
    .await?
    .iter()
    .map(observation)
    .collect()
}

pub(crate) async fn pdf_bytes(
    pool: &SqlitePool,
    tenant: TenantId,
    finding: FindingId,
) -> Result<Vec<u8>, StoreError> {
    let row = sqlx::query("SELECT bytes FROM finding_pdfs WHERE tenant_id = ? AND finding_id = ?")
        .bind(tenant.to_string())
        .bind(finding.to_string())
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::Corrupt("finding without PDF".into()))?;
    Ok(row.try_get("bytes")?)
}

/// Complete a scope-checked finding with its observations, audited.
pub(crate) async fn audited_detail(
    pool: &SqlitePool,
    actor: &Actor,
    summary: FindingSummary,
) -> Result<FindingDetail, StoreError> {
    let observations = observations(pool, summary.tenant_id, summary.id).await?;
    actor
        .log(
            outcome_success(Action::FindingRead, ResourceKind::Finding)
                .resource(summary.id)
                .concerning(summary.tenant_id, Some(summary.patient_id)),
        )
        .await?;
    Ok(FindingDetail {
        summary,
        observations,
    })
}

/// The PDF of a scope-checked finding, audited.
pub(crate) async fn audited_pdf(
    pool: &SqlitePool,
    actor: &Actor,
    summary: FindingSummary,
) -> Result<(FindingSummary, Vec<u8>), StoreError> {
    let bytes = pdf_bytes(pool, summary.tenant_id, summary.id).await?;
    actor
        .log(
            outcome_success(Action::FindingPdfDownload, ResourceKind::FindingPdf)
                .resource(summary.id)
                .concerning(summary.tenant_id, Some(summary.patient_id)),
        )
        .await?;
    Ok((summary, bytes))
}
