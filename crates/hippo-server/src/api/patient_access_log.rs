//! The facility's view of one patient record's access log (tenant admins):
//! who (staff member, lab system by its key's name, the patient themself)
//! did what to the record's data, and when.

use axum::Json;
use axum::extract::Path;
use hippo_core::PatientId;
use hippo_core::time_util::rfc3339;
use hippo_store::AccessEntry;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::extract::Authorized;
use crate::views::{HISTORY_LIMIT, PatientView};

#[derive(Debug, Serialize, ToSchema)]
pub struct PatientAccessView {
    /// The audit record's ID.
    pub id: String,
    pub at: String,
    /// `patient` (the patient themself), `clinician`, `assistant`,
    /// `tenant_admin`, `lab_system`, `code_holder`, …
    pub actor: String,
    /// The staff member's display name, or the lab system's key name.
    pub actor_name: Option<String>,
    /// What was done, e.g. `finding_read`, `finding_upload`.
    pub action: String,
    pub resource_kind: String,
    pub resource_id: Option<String>,
    pub outcome: String,
}

impl From<&AccessEntry> for PatientAccessView {
    fn from(e: &AccessEntry) -> Self {
        Self {
            id: e.id.clone(),
            at: rfc3339(e.at),
            actor: if e.by_self {
                "patient".into()
            } else {
                e.actor_kind.clone()
            },
            actor_name: e.staff_name.clone(),
            action: e.action.clone(),
            resource_kind: e.resource_kind.clone(),
            resource_id: e.resource_id.clone(),
            outcome: e.outcome.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PatientAccessLogView {
    pub patient: PatientView,
    /// Newest first.
    pub accesses: Vec<PatientAccessView>,
}

/// Who accessed one patient record of the caller's facility (tenant
/// admins). Records at other facilities are never included.
#[utoipa::path(get, path = "/api/v1/patients/{id}/access-log", tag = "patients",
    params(("id" = String, Path, description = "patient ID")),
    responses((status = 200, body = PatientAccessLogView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<PatientAccessLogView>, ApiError> {
    let id: PatientId = caller.parse_id(&raw).await?;
    let log = caller
        .staff()?
        .patient_access_log(id, HISTORY_LIMIT)
        .await?;
    let (patient, entries) = &*log;
    Ok(Json(PatientAccessLogView {
        patient: patient.into(),
        accesses: entries.iter().map(Into::into).collect(),
    }))
}
