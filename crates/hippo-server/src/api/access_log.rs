//! A patient's access history: who accessed their data, when, from which
//! facility, and an inclusion proof for any entry.

use axum::Json;
use axum::extract::Path;
use hippo_core::time_util::rfc3339;
use hippo_store::AccessEntry;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::extract::Authorized;
use crate::views::{HISTORY_LIMIT, InclusionProofView, proof_view};

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessEntryView {
    /// The audit record's ID; fetch its inclusion proof with it.
    pub id: String,
    pub at: String,
    pub facility: String,
    /// `you`, `clinician`, `assistant`, `tenant_admin`, `lab_system`, …
    pub actor: String,
    /// The staff member's name where the facility shows it.
    pub staff_name: Option<String>,
    /// What was done, e.g. `finding_read`, `finding_pdf_download`.
    pub action: String,
    pub resource_kind: String,
    pub resource_id: Option<String>,
    pub outcome: String,
}

impl From<&AccessEntry> for AccessEntryView {
    fn from(e: &AccessEntry) -> Self {
        Self {
            id: e.id.clone(),
            at: rfc3339(e.at),
            facility: e.facility.clone(),
            actor: if e.by_self {
                "you".into()
            } else {
                e.actor_kind.clone()
            },
            staff_name: e.staff_name.clone(),
            action: e.action.clone(),
            resource_kind: e.resource_kind.clone(),
            resource_id: e.resource_id.clone(),
            outcome: e.outcome.clone(),
        }
    }
}

/// Every access to the caller's data, newest first.
#[utoipa::path(get, path = "/api/v1/access-log", tag = "access history",
    responses((status = 200, body = Vec<AccessEntryView>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(caller: Authorized) -> Result<Json<Vec<AccessEntryView>>, ApiError> {
    let entries = caller.patient()?.access_history(HISTORY_LIMIT).await?;
    Ok(Json(entries.iter().map(Into::into).collect()))
}

/// The inclusion proof of one entry of the caller's access history.
#[utoipa::path(get, path = "/api/v1/access-log/{id}/proof", tag = "access history",
    params(("id" = String, Path, description = "audit record ID")),
    responses((status = 200, body = InclusionProofView), (status = 404, body = ErrorBody),
        (status = 409, description = "not yet in a signed tree head", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn proof(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<InclusionProofView>, ApiError> {
    let id: hippo_core::AuditRecordId = caller.parse_id(&raw).await?;
    let proof = caller.patient()?.access_proof(&id.to_string()).await?;
    Ok(Json(proof_view(&id.to_string(), &proof)))
}
