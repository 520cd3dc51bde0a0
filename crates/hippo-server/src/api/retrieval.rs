//! Retrieval codes on the API: staff issue (JSON with the code, shown
//! once, or the printed sheet as PDF), list and revoke them; a code holder
//! posts code and date of birth and gets the one finding with a one-time
//! PDF link.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hippo_core::time_util::rfc3339;
use hippo_core::{FindingId, RetrievalCodeId};
use hippo_store::RetrievalCodeRecord;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::json::ApiJson;
use crate::error::{ApiError, ErrorBody, Failure};
use crate::extract::{Authorized, RequestMeta};
use crate::retrieval;
use crate::state::AppState;
use crate::views::{FindingView, pdf_response};

/// A retrieval code as listed: never the code.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetrievalCodeView {
    pub id: String,
    pub finding_id: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    /// Wrong dates of birth still allowed before the code locks.
    pub attempts_left: i64,
    pub last_used_at: Option<String>,
}

impl From<&RetrievalCodeRecord> for RetrievalCodeView {
    fn from(c: &RetrievalCodeRecord) -> Self {
        Self {
            id: c.id.to_string(),
            finding_id: c.finding_id.to_string(),
            created_at: rfc3339(c.created_at),
            expires_at: rfc3339(c.expires_at),
            revoked_at: c.revoked_at.map(rfc3339),
            attempts_left: c.attempts_left(),
            last_used_at: c.last_used_at.map(rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IssuedCodeView {
    #[serde(flatten)]
    pub record: RetrievalCodeView,
    /// The code as printed (`XXXX-XXXX-XXXX-XXXX`), shown this once: only
    /// its hash is stored.
    pub code: String,
    /// Where the holder enters it.
    pub retrieval_url: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IssueParams {
    /// `json` (default) or `pdf` (the printed sheet with the QR code).
    pub format: Option<String>,
    /// Days the code is valid, 1 to 90 (default: the configured 14).
    pub valid_days: Option<u32>,
}

/// Issue a retrieval code for a released finding (a draft or retracted
/// finding cannot get one: 409). The code is in this answer only.
#[utoipa::path(post, path = "/api/v1/findings/{id}/retrieval-codes", tag = "retrieval codes",
    params(("id" = String, Path, description = "finding ID"), IssueParams),
    responses(
        (status = 201, body = IssuedCodeView),
        (status = 201, content_type = "application/pdf", description = "the printed sheet (format=pdf)", body = Vec<u8>),
        (status = 404, body = ErrorBody),
        (status = 409, description = "the finding is not released", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn issue(
    State(state): State<AppState>,
    caller: Authorized,
    Path(raw): Path<String>,
    params: Result<Query<IssueParams>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| Failure::Invalid(e.body_text()))?;
    let as_pdf = match params.format.as_deref() {
        None | Some("json") => false,
        Some("pdf") => true,
        Some(_) => return Err(Failure::Invalid("format: json or pdf".into()).into()),
    };
    let id: FindingId = caller.parse_id(&raw).await?;
    let issued = retrieval::issue(&state, &caller, id, params.valid_days).await?;
    if as_pdf {
        let bytes = retrieval::sheet(&state, &headers, &issued)?;
        return Ok((
            StatusCode::CREATED,
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"retrieval-code-{}.pdf\"",
                        issued.record.id
                    ),
                ),
            ],
            bytes,
        )
            .into_response());
    }
    let view = IssuedCodeView {
        record: (&*issued.record).into(),
        code: issued.code.grouped(),
        retrieval_url: retrieval::page_url(&state, &headers),
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// The retrieval codes of a finding (never the codes themselves).
#[utoipa::path(get, path = "/api/v1/findings/{id}/retrieval-codes", tag = "retrieval codes",
    params(("id" = String, Path, description = "finding ID")),
    responses((status = 200, body = Vec<RetrievalCodeView>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<Vec<RetrievalCodeView>>, ApiError> {
    let id: FindingId = caller.parse_id(&raw).await?;
    let codes = caller.staff()?.retrieval_codes(id).await?;
    Ok(Json(codes.iter().map(Into::into).collect()))
}

/// Revoke a retrieval code: it opens nothing from now on.
#[utoipa::path(post, path = "/api/v1/retrieval-codes/{id}/revoke", tag = "retrieval codes",
    params(("id" = String, Path, description = "retrieval code ID")),
    responses((status = 200, body = RetrievalCodeView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<RetrievalCodeView>, ApiError> {
    let id: RetrievalCodeId = caller.parse_id(&raw).await?;
    let record = caller.staff()?.revoke_retrieval_code(id).await?;
    Ok(Json((&*record).into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrievalRequest {
    /// As printed; case, spaces and dashes do not matter.
    pub code: String,
    /// ISO date, `YYYY-MM-DD`.
    pub date_of_birth: String,
}

#[derive(Serialize, ToSchema)]
pub struct PdfLinkView {
    /// Usable once, until `expires_at`.
    pub url: String,
    pub expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct RetrievedView {
    pub finding: FindingView,
    pub pdf: PdfLinkView,
}

/// Retrieve the finding of a code with the holder's date of birth. A wrong
/// code and a wrong date of birth get the same answer (404); a typo in the
/// code is caught by its check symbol and does not count (422).
#[utoipa::path(post, path = "/api/v1/retrieval", tag = "retrieval codes",
    request_body = RetrievalRequest,
    responses(
        (status = 200, body = RetrievedView),
        (status = 404, description = "code or date of birth not recognised", body = ErrorBody),
        (status = 410, description = "code expired or revoked, or the finding withdrawn", body = ErrorBody),
        (status = 422, description = "a typo in the code, or a malformed date of birth", body = ErrorBody),
        (status = 423, description = "code locked after too many wrong attempts", body = ErrorBody),
        (status = 429, description = "too many attempts from this address", body = ErrorBody),
    ))]
pub async fn redeem(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(request): ApiJson<RetrievalRequest>,
) -> Result<Json<RetrievedView>, ApiError> {
    let retrieved =
        retrieval::retrieve(&state, &meta, &request.code, &request.date_of_birth).await?;
    Ok(Json(RetrievedView {
        finding: (&*retrieved.finding).into(),
        pdf: PdfLinkView {
            url: format!(
                "/api/v1/retrieval/pdf/{}",
                retrieved.pdf_token.expose_secret()
            ),
            expires_at: rfc3339(retrieved.pdf_expires_at),
        },
    }))
}

/// The PDF of a retrieved finding, through its one-time link.
#[utoipa::path(get, path = "/api/v1/retrieval/pdf/{token}", tag = "retrieval codes",
    params(("token" = String, Path, description = "one-time link token")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 404, description = "unknown, used or expired link", body = ErrorBody)))]
pub async fn pdf(
    State(state): State<AppState>,
    meta: RequestMeta,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let pdf = retrieval::pdf(&state, &meta, &token).await?;
    let id = pdf.summary.id;
    Ok(pdf_response(id, pdf.into_bytes()))
}
