//! `/api/v1/account/...`: the caller's own second factors. No route names
//! an account; the subject is always the session's.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::enrolment::{QR_TITLE, TotpOfferView, shown_once};
use crate::api::json::ApiJson;
use crate::auth::account_security;
use crate::auth::token::ShownOnce;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Authorized;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct SecurityView {
    pub totp_enabled: bool,
    pub recovery_codes_left: i64,
    /// Staff and operators must keep a second factor.
    pub second_factor_mandatory: bool,
}

/// One's own security settings.
#[utoipa::path(get, path = "/api/v1/account/security", tag = "account",
    responses((status = 200, body = SecurityView), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn security(
    State(state): State<AppState>,
    caller: Authorized,
) -> Result<Json<SecurityView>, ApiError> {
    let status = account_security::status(&state, &caller).await?;
    Ok(Json(SecurityView {
        totp_enabled: status.totp_enabled,
        recovery_codes_left: status.recovery_codes_left,
        second_factor_mandatory: status.factor_mandatory,
    }))
}

/// Patients: offer a TOTP seed (turning TOTP on, step 1).
#[utoipa::path(post, path = "/api/v1/account/totp/start", tag = "account",
    responses((status = 200, body = TotpOfferView),
        (status = 403, description = "not a patient", body = ErrorBody),
        (status = 409, description = "TOTP is on already", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn totp_start(
    State(state): State<AppState>,
    caller: Authorized,
) -> Result<Json<TotpOfferView>, ApiError> {
    let offer = account_security::start_totp(&state, &caller, QR_TITLE).await?;
    Ok(Json(offer.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[derive(Debug)]
pub struct CodeRequest {
    /// A current 6-digit TOTP code (or, where a factor exists, an unused
    /// recovery code).
    #[schema(value_type = String, format = Password)]
    pub code: SecretString,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodesView {
    /// Ten single-use codes; every earlier set is void. Shown only now.
    #[schema(value_type = Vec<String>)]
    pub recovery_codes: Vec<ShownOnce>,
}

/// Patients: confirm the offered seed with its code (TOTP on, step 2);
/// the answer carries ten new recovery codes.
#[utoipa::path(post, path = "/api/v1/account/totp/finish", tag = "account",
    request_body = CodeRequest,
    responses((status = 200, body = RecoveryCodesView),
        (status = 422, description = "wrong code, or no seed offered", body = ErrorBody),
        (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn totp_finish(
    State(state): State<AppState>,
    caller: Authorized,
    ApiJson(request): ApiJson<CodeRequest>,
) -> Result<Json<RecoveryCodesView>, ApiError> {
    let enrolled =
        account_security::finish_totp(&state, &caller, request.code.expose_secret()).await?;
    Ok(Json(RecoveryCodesView {
        recovery_codes: shown_once(enrolled.recovery_codes),
    }))
}

/// Patients: turn TOTP off with a current code (recovery codes go too).
/// Staff and operators cannot: their second factor is mandatory.
#[utoipa::path(post, path = "/api/v1/account/totp/remove", tag = "account",
    request_body = CodeRequest,
    responses((status = 204), (status = 403, description = "not a patient", body = ErrorBody),
        (status = 422, description = "wrong code", body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn totp_remove(
    State(state): State<AppState>,
    caller: Authorized,
    ApiJson(request): ApiJson<CodeRequest>,
) -> Result<StatusCode, ApiError> {
    account_security::remove_totp(&state, &caller, request.code.expose_secret()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new set of recovery codes with a current code; the old set is void.
#[utoipa::path(post, path = "/api/v1/account/recovery-codes", tag = "account",
    request_body = CodeRequest,
    responses((status = 200, body = RecoveryCodesView),
        (status = 409, description = "no second factor is on", body = ErrorBody),
        (status = 422, description = "wrong code", body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn recovery_codes(
    State(state): State<AppState>,
    caller: Authorized,
    ApiJson(request): ApiJson<CodeRequest>,
) -> Result<Json<RecoveryCodesView>, ApiError> {
    let codes =
        account_security::renew_recovery_codes(&state, &caller, request.code.expose_secret())
            .await?;
    Ok(Json(RecoveryCodesView {
        recovery_codes: shown_once(codes),
    }))
}
