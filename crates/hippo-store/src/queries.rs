//! Queries shared by the staff and patient scopes. Each takes the tenant of
//! an already scope-checked finding and filters on it again, so a caller
//! passing a wrong pair gets nothing.

use hippo_core::finding::Observation;
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::{FindingId, TenantId};
use sqlx::AnyConnection;
use sqlx::pool::PoolConnection;

use crate::actor::{Actor, outcome_success};
use crate::error::StoreError;
use crate::model::{FindingDetail, FindingSummary};
use crate::rows::observation;
use crate::vault::Vault;

pub(crate) async fn observations(
    conn: &mut AnyConnection,
    tenant: TenantId,
    finding: FindingId,
) -> Result<Vec<Observation>, StoreError> {
    sqlx::query(
        "SELECT code, display, value_numeric, value_text, unit, reference_low, reference_high, flag \
         FROM observations WHERE tenant_id = $1 AND finding_id = $2 ORDER BY position",
    )
    .bind(tenant.to_string())
    .bind(finding.to_string())
    .fetch_all(conn)
    .await?
    .iter()
    .map(observation)
    .collect()
}

/// The blob kind of a finding's PDF (part of every PDF's encryption binding).
pub(crate) const PDF_BLOB: &str = "finding_pdf";

/// Complete a scope-checked finding with its observations, audited. Takes
/// the connection by value and gives it back to the pool before waiting
/// for the audit record: no request holds a connection while it waits.
pub(crate) async fn audited_detail(
    mut conn: PoolConnection<sqlx::Any>,
    actor: &Actor,
    summary: FindingSummary,
) -> Result<FindingDetail, StoreError> {
    let observations = observations(&mut conn, summary.tenant_id, summary.id).await?;
    drop(conn);
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
    vault: &Vault,
    actor: &Actor,
    summary: FindingSummary,
) -> Result<(FindingSummary, Vec<u8>), StoreError> {
    let bytes = vault
        .get_and_open(summary.tenant_id, PDF_BLOB, &summary.id.to_string())
        .await?;
    actor
        .log(
            outcome_success(Action::FindingPdfDownload, ResourceKind::FindingPdf)
                .resource(summary.id)
                .concerning(summary.tenant_id, Some(summary.patient_id)),
        )
        .await?;
    Ok((summary, bytes))
}
