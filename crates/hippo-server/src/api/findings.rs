//! Findings: the patient's own list, one finding with its values, the PDF,
//! upload, release and retract.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use hippo_core::{FindingId, PatientId};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody, Failure};
use crate::extract::Authorized;
use crate::state::AppState;
use crate::upload::read_upload;
use crate::views::{FindingSummaryView, FindingView, pdf_response};

/// Multipart body of a finding upload.
#[allow(dead_code)] // documents the request shape for OpenAPI only
#[derive(ToSchema)]
pub struct UploadFindingForm {
    /// JSON: `{"title": "...", "observations": [{"code", "display", "value",
    /// "unit", "reference_low", "reference_high", "flag"}]}`.
    metadata: String,
    /// The report as PDF (checked by content, not by name).
    #[schema(format = Binary, content_media_type = "application/pdf")]
    pdf: Vec<u8>,
}

/// The caller's own released findings across all their facilities.
#[utoipa::path(get, path = "/api/v1/findings", tag = "findings",
    responses((status = 200, body = Vec<FindingSummaryView>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_own(caller: Authorized) -> Result<Json<Vec<FindingSummaryView>>, ApiError> {
    let findings = caller.patient()?.findings().await?;
    Ok(Json(findings.iter().map(Into::into).collect()))
}

/// One finding with its observations.
#[utoipa::path(get, path = "/api/v1/findings/{id}", tag = "findings",
    params(("id" = String, Path, description = "finding ID")),
    responses((status = 200, body = FindingView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<FindingView>, ApiError> {
    let id: FindingId = caller.parse_id(&raw).await?;
    let detail = caller.finding(id).await?;
    Ok(Json((&*detail).into()))
}

/// The finding's PDF.
#[utoipa::path(get, path = "/api/v1/findings/{id}/pdf", tag = "findings",
    params(("id" = String, Path, description = "finding ID")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn pdf(caller: Authorized, Path(raw): Path<String>) -> Result<Response, ApiError> {
    let id: FindingId = caller.parse_id(&raw).await?;
    let pdf = caller.finding_pdf(id).await?;
    Ok(pdf_response(id, pdf.into_bytes()))
}

/// Upload a new draft finding for a patient of the caller's facility.
#[utoipa::path(post, path = "/api/v1/patients/{id}/findings", tag = "findings",
    params(("id" = String, Path, description = "patient ID")),
    request_body(content = UploadFindingForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = FindingSummaryView),
        (status = 404, body = ErrorBody),
        (status = 413, description = "upload larger than the limit", body = ErrorBody),
        (status = 415, description = "the document is not a PDF", body = ErrorBody),
        (status = 422, description = "invalid metadata", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Authorized,
    Path(raw): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<FindingSummaryView>), ApiError> {
    let staff = caller.staff()?;
    let patient: PatientId = caller.parse_id(&raw).await?;
    let multipart = multipart.map_err(|e| {
        Failure::BadRequest(format!("expected multipart/form-data: {}", e.body_text()))
    })?;
    let (finding, pdf) = read_upload(multipart, state.config().max_upload_bytes)
        .await?
        .into_finding()?;
    let summary = staff.upload_finding(patient, &finding, &pdf).await?;
    Ok((StatusCode::CREATED, Json((&*summary).into())))
}

/// Release a draft finding to the patient.
#[utoipa::path(post, path = "/api/v1/findings/{id}/release", tag = "findings",
    params(("id" = String, Path, description = "finding ID")),
    responses((status = 200, body = FindingSummaryView), (status = 404, body = ErrorBody),
        (status = 409, description = "not a draft", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn release(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<FindingSummaryView>, ApiError> {
    let id: FindingId = caller.parse_id(&raw).await?;
    let summary = caller.staff()?.release(id).await?;
    Ok(Json((&*summary).into()))
}

/// Retract a released finding; the patient no longer sees it.
#[utoipa::path(post, path = "/api/v1/findings/{id}/retract", tag = "findings",
    params(("id" = String, Path, description = "finding ID")),
    responses((status = 200, body = FindingSummaryView), (status = 404, body = ErrorBody),
        (status = 409, description = "not released", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn retract(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<FindingSummaryView>, ApiError> {
    let id: FindingId = caller.parse_id(&raw).await?;
    let summary = caller.staff()?.retract(id).await?;
    Ok(Json((&*summary).into()))
}
