//! `POST /api/v1/auth/login` and `/logout`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hippo_core::Principal;
use hippo_core::time_util::rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::json::ApiJson;
use crate::auth::login::login as login_flow;
use crate::auth::token::{ShownOnce, hash_token};
use crate::error::{ApiError, ErrorBody};
use hippo_store::SessionSurface;
use secrecy::{ExposeSecret, SecretString};

use crate::extract::{Authorized, RequestMeta};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[derive(Debug)]
pub struct LoginRequest {
    pub email: String,
    /// Kept secret in memory: prints as `[REDACTED]`, zeroed on drop.
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

#[derive(Serialize, ToSchema)]
pub struct PrincipalView {
    /// `patient`, `tenant_admin`, `clinician` or `assistant`.
    pub kind: String,
    pub display_name: String,
    /// The staff member's facility; absent for patients.
    pub tenant_id: Option<String>,
}

impl From<&Principal> for PrincipalView {
    fn from(p: &Principal) -> Self {
        Self {
            kind: p.kind().as_str().into(),
            display_name: p.display_name().into(),
            tenant_id: p.staff_tenant().map(|t| t.to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    #[schema(value_type = String)]
    pub token: ShownOnce,
    pub expires_at: String,
    pub principal: PrincipalView,
}

/// Log in with e-mail and password; returns a session token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "wrong e-mail or password", body = ErrorBody),
        (status = 429, description = "too many attempts", body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let success = login_flow(
        &state,
        &request.email,
        request.password.expose_secret(),
        SessionSurface::Api,
        &meta.origin,
        meta.client_ip,
    )
    .await?;
    Ok(Json(LoginResponse {
        token: ShownOnce::new(success.token),
        expires_at: rfc3339(success.expires_at),
        principal: (&success.principal).into(),
    }))
}

/// End the session of the presented token.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Authorized,
) -> Result<StatusCode, ApiError> {
    state
        .sessions()
        .delete_session(&hash_token(caller.session_token()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
