//! Passkeys over the JSON API: one's own list, registration (challenge,
//! then the authenticator's answer), deletion; and the passkey variant of
//! the login's second step. The WebAuthn options and answers are the
//! W3C JSON shapes (binary fields base64url).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hippo_core::time_util::rfc3339;
use hippo_store::{PasskeySummary, SessionSurface};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse,
};

use crate::api::auth::{LoginResponse, session_view};
use crate::api::json::ApiJson;
use crate::auth::device::DeviceKey;
use crate::auth::passkey;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Authorized, RequestMeta};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl From<&PasskeySummary> for PasskeyView {
    fn from(p: &PasskeySummary) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name.clone(),
            created_at: rfc3339(p.created_at),
            last_used_at: p.last_used_at.map(rfc3339),
        }
    }
}

/// The caller's own passkeys (names and dates; no key material).
#[utoipa::path(get, path = "/api/v1/account/passkeys", tag = "passkeys",
    responses((status = 200, body = Vec<PasskeyView>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Authorized,
) -> Result<Json<Vec<PasskeyView>>, ApiError> {
    let passkeys = passkey::list(&state, &caller).await?;
    Ok(Json(passkeys.iter().map(Into::into).collect()))
}

/// Registration, step 1: options for `navigator.credentials.create()`
/// (`{"publicKey": ...}`); valid 5 minutes, for this session only.
#[utoipa::path(post, path = "/api/v1/account/passkeys/register/challenge", tag = "passkeys",
    responses((status = 200, description = "PublicKeyCredentialCreationOptions", body = Object),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn register_challenge(
    State(state): State<AppState>,
    caller: Authorized,
) -> Result<Json<CreationChallengeResponse>, ApiError> {
    Ok(Json(passkey::start_registration(&state, &caller).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterPasskeyRequest {
    /// What the owner calls it, e.g. "Laptop"; 1 to 64 characters.
    pub name: String,
    /// The `PublicKeyCredential` from `navigator.credentials.create()`.
    #[schema(value_type = Object)]
    pub credential: RegisterPublicKeyCredential,
}

/// Registration, step 2: the authenticator's answer to this session's
/// latest challenge (used up by this request, right or wrong).
#[utoipa::path(post, path = "/api/v1/account/passkeys", tag = "passkeys",
    request_body = RegisterPasskeyRequest,
    responses((status = 201, body = PasskeyView), (status = 401, body = ErrorBody),
        (status = 409, description = "credential registered already", body = ErrorBody),
        (status = 422, description = "no challenge waiting, or the answer does not match it", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn register(
    State(state): State<AppState>,
    caller: Authorized,
    ApiJson(request): ApiJson<RegisterPasskeyRequest>,
) -> Result<(StatusCode, Json<PasskeyView>), ApiError> {
    let summary =
        passkey::finish_registration(&state, &caller, &request.name, &request.credential).await?;
    Ok((StatusCode::CREATED, Json((&summary).into())))
}

/// Delete one of the caller's passkeys; any other ID answers 404.
#[utoipa::path(post, path = "/api/v1/account/passkeys/{id}/delete", tag = "passkeys",
    params(("id" = String, Path, description = "passkey ID")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = caller.parse_id(&raw).await?;
    passkey::delete(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyChallengeRequest {
    /// The `pending_token` of the password step.
    #[schema(value_type = String, format = Password)]
    pub pending_token: SecretString,
}

/// Login, step 2 with a passkey, first half: options for
/// `navigator.credentials.get()` allowing the account's passkeys.
#[utoipa::path(post, path = "/api/v1/auth/login/passkey/challenge", tag = "auth",
    request_body = PasskeyChallengeRequest,
    responses((status = 200, description = "PublicKeyCredentialRequestOptions", body = Object),
        (status = 401, description = "unknown or expired pending login, or no passkey", body = ErrorBody)))]
pub async fn login_challenge(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(request): ApiJson<PasskeyChallengeRequest>,
) -> Result<Json<RequestChallengeResponse>, ApiError> {
    let options =
        passkey::start_login(&state, request.pending_token.expose_secret(), &meta.origin).await?;
    Ok(Json(options))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyLoginRequest {
    #[schema(value_type = String, format = Password)]
    pub pending_token: SecretString,
    /// The `PublicKeyCredential` from `navigator.credentials.get()`.
    #[schema(value_type = Object)]
    pub credential: PublicKeyCredential,
}

/// Login, step 2 with a passkey: the assertion for the pending login's
/// latest challenge; returns the session. Each challenge is answered once.
#[utoipa::path(post, path = "/api/v1/auth/login/passkey", tag = "auth",
    request_body = PasskeyLoginRequest,
    responses((status = 200, description = "logged in", body = LoginResponse),
        (status = 401, description = "refused assertion, used or missing challenge", body = ErrorBody),
        (status = 429, description = "too many refused attempts for this account", body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(request): ApiJson<PasskeyLoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let success = passkey::finish_login(
        &state,
        request.pending_token.expose_secret(),
        &request.credential,
        SessionSurface::Api,
        &meta.origin,
        &DeviceKey::ApiClient,
    )
    .await?;
    Ok(Json(session_view(success)))
}
