//! Patients of the caller's facility (staff only).

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use hippo_core::PatientId;
use hippo_core::patient::PatientInput;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::json::ApiJson;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Authorized;
use crate::input::parse_new_patient;
use crate::views::{PatientFindingsView, PatientView};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePatientRequest {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// Create a decoy (honeytoken) record: any access to it raises an alert.
    #[serde(default)]
    pub decoy: bool,
}

/// All patients of the caller's facility.
#[utoipa::path(get, path = "/api/v1/patients", tag = "patients",
    responses((status = 200, body = Vec<PatientView>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(caller: Authorized) -> Result<Json<Vec<PatientView>>, ApiError> {
    let patients = caller.staff()?.list_patients().await?;
    Ok(Json(patients.iter().map(Into::into).collect()))
}

/// Create a patient record in the caller's facility.
#[utoipa::path(post, path = "/api/v1/patients", tag = "patients",
    request_body = CreatePatientRequest,
    responses((status = 201, body = PatientView), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    caller: Authorized,
    ApiJson(request): ApiJson<CreatePatientRequest>,
) -> Result<(StatusCode, Json<PatientView>), ApiError> {
    let staff = caller.staff()?;
    let mut new = parse_new_patient(PatientInput {
        given_name: request.given_name,
        family_name: request.family_name,
        birth_date: request.birth_date,
    })?;
    new.decoy = request.decoy;
    let record = staff.create_patient(&new).await?;
    Ok((StatusCode::CREATED, Json((&*record).into())))
}

/// One patient of the caller's facility.
#[utoipa::path(get, path = "/api/v1/patients/{id}", tag = "patients",
    params(("id" = String, Path, description = "patient ID")),
    responses((status = 200, body = PatientView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<PatientView>, ApiError> {
    let staff = caller.staff()?;
    let id: PatientId = caller.parse_id(&raw).await?;
    Ok(Json((&*staff.patient(id).await?).into()))
}

/// A patient's findings in every state.
#[utoipa::path(get, path = "/api/v1/patients/{id}/findings", tag = "patients",
    params(("id" = String, Path, description = "patient ID")),
    responses((status = 200, body = PatientFindingsView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn findings(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<PatientFindingsView>, ApiError> {
    let staff = caller.staff()?;
    let id: PatientId = caller.parse_id(&raw).await?;
    let both = staff.patient_findings(id).await?;
    let (patient, findings) = &*both;
    Ok(Json(PatientFindingsView {
        patient: patient.into(),
        findings: findings.iter().map(Into::into).collect(),
    }))
}
