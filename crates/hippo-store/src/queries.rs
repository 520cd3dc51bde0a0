//! Completing a finding the gate has admitted, for the staff and the
//! patient scope alike. Each read takes the tenant of the admitted
//! finding and filters on it again, so a wrong pair gets nothing.

use hippo_core::finding::Observation;
use hippo_core::{FindingId, TenantId};
use sqlx::AnyConnection;

use hippo_core::policy::ResourceKind;

use crate::admission::{Access, Admitted, Gated, Gatekeeper};
use crate::error::StoreError;
use crate::model::{FindingDetail, FindingPdf, FindingSummary};
use crate::rows::observation;
use crate::vault::Vault;

/// The blob kind of a finding's PDF (part of every PDF's encryption binding).
pub(crate) const PDF_BLOB: &str = "finding_pdf";

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

/// A finding the gate let through, completed with its values and recorded
/// as read. The connection goes back to the pool before the record is
/// awaited.
pub(crate) async fn admit_detail(
    gk: &Gatekeeper,
    summary: Gated<FindingSummary>,
) -> Result<Admitted<FindingDetail>, StoreError> {
    let values = {
        let mut conn = gk.connections.acquire().await?;
        let f = summary.get();
        observations(&mut conn, f.tenant_id, f.id).await?
    };
    let access = finding_access(summary.get());
    let detail = summary.with(|summary| FindingDetail {
        summary,
        observations: values,
    });
    gk.admit(detail, ResourceKind::Finding, vec![access]).await
}

/// A finding the gate let through, with its PDF opened from the sealed
/// blob, recorded as downloaded.
pub(crate) async fn admit_pdf(
    gk: &Gatekeeper,
    vault: &Vault,
    summary: Gated<FindingSummary>,
) -> Result<Admitted<FindingPdf>, StoreError> {
    let f = summary.get();
    let bytes = vault
        .get_and_open(f.tenant_id, PDF_BLOB, &f.id.to_string())
        .await?;
    let access = finding_access(f);
    let pdf = summary.with(|summary| FindingPdf { summary, bytes });
    gk.admit(pdf, ResourceKind::FindingPdf, vec![access]).await
}

/// The success record of one finding: its ID, its tenant and patient.
pub(crate) fn finding_access(f: &FindingSummary) -> Access {
    Access::of(f.id).concerning(f.tenant_id, Some(f.patient_id))
}
