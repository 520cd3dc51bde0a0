//! `POST /api/v1/auth/login` and `/logout`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hippo_core::Principal;
use hippo_core::time_util::rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::json::ApiJson;
use crate::auth::device::DeviceKey;
use crate::auth::login::login as login_flow;
use crate::auth::second_factor::{self, LoginStep};
use crate::auth::session::LoginSuccess;
use crate::auth::token::{ShownOnce, hash_token};
use crate::error::{ApiError, ErrorBody};
use axum::response::{IntoResponse, Response};
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

/// The first step's answer for an account with a second factor: no
/// session yet, only a short-lived token for the second step.
#[derive(Serialize, ToSchema)]
pub struct SecondFactorRequired {
    /// Always `true`: the answer carries no session.
    pub second_factor_required: bool,
    /// Send with the code to `POST /api/v1/auth/login/second-factor`;
    /// valid for 5 minutes and at most 5 wrong codes.
    #[schema(value_type = String)]
    pub pending_token: ShownOnce,
    pub expires_at: String,
    /// What the second step accepts: `totp`, `recovery_code`, `passkey`
    /// (`/api/v1/auth/login/passkey/challenge`, then `/api/v1/auth/login/passkey`).
    pub methods: Vec<String>,
}

/// The password step's answer for staff and operators without a second
/// factor: no session, only a token for the enrolment.
#[derive(Serialize, ToSchema)]
pub struct EnrolmentRequired {
    /// Always `true`: the answer carries no session.
    pub enrolment_required: bool,
    /// Send to `/api/v1/auth/login/enrol/start` and `/finish`; valid for 5
    /// minutes and at most 5 wrong codes.
    #[schema(value_type = String)]
    pub pending_token: ShownOnce,
    pub expires_at: String,
}

/// Log in, step 1: e-mail and password. Without a second factor the
/// answer (200) is the session; with one (mandatory for staff and
/// operators) it is 202 with a pending-login token for step 2.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "logged in", body = LoginResponse),
        (status = 202, description = "password right; send a code to /api/v1/auth/login/second-factor (`second_factor_required`), or, for staff and operators without a second factor, enrol one through /api/v1/auth/login/enrol/start and /finish (`enrolment_required`): no session before that", body = SecondFactorRequired),
        (status = 401, description = "wrong e-mail or password", body = ErrorBody),
        (status = 429, description = "too many attempts", body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let step = login_flow(
        &state,
        &request.email,
        request.password.expose_secret(),
        SessionSurface::Api,
        &meta.origin,
        meta.client_ip,
        &DeviceKey::ApiClient,
    )
    .await?;
    Ok(match step {
        LoginStep::Session(success) => Json(session_view(success)).into_response(),
        LoginStep::SecondFactor(pending) => (
            StatusCode::ACCEPTED,
            Json(SecondFactorRequired {
                second_factor_required: true,
                pending_token: ShownOnce::new(pending.token),
                expires_at: rfc3339(pending.expires_at),
                methods: vec!["totp".into(), "recovery_code".into(), "passkey".into()],
            }),
        )
            .into_response(),
        LoginStep::EnrolmentRequired(pending) => (
            StatusCode::ACCEPTED,
            Json(EnrolmentRequired {
                enrolment_required: true,
                pending_token: ShownOnce::new(pending.token),
                expires_at: rfc3339(pending.expires_at),
            }),
        )
            .into_response(),
    })
}

pub(crate) fn session_view(success: LoginSuccess) -> LoginResponse {
    LoginResponse {
        token: ShownOnce::new(success.token),
        expires_at: rfc3339(success.expires_at),
        principal: (&success.principal).into(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[derive(Debug)]
pub struct SecondFactorRequest {
    /// The `pending_token` of step 1.
    #[schema(value_type = String, format = Password)]
    pub pending_token: SecretString,
    /// A 6-digit TOTP code or an unused recovery code.
    #[schema(value_type = String, format = Password)]
    pub code: SecretString,
}

/// Log in, step 2: the pending-login token and a TOTP code (each time
/// step is accepted once) or a recovery code (each usable once); returns
/// the session.
#[utoipa::path(post, path = "/api/v1/auth/login/second-factor", tag = "auth",
    request_body = SecondFactorRequest,
    responses(
        (status = 200, description = "logged in", body = LoginResponse),
        (status = 401, description = "wrong or used code, or unknown or expired pending login", body = ErrorBody),
        (status = 429, description = "too many wrong codes for this account", body = ErrorBody),
    ))]
pub async fn login_second_factor(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(request): ApiJson<SecondFactorRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let success = second_factor::complete(
        &state,
        request.pending_token.expose_secret(),
        request.code.expose_secret(),
        SessionSurface::Api,
        &meta.origin,
        meta.client_ip,
        &DeviceKey::ApiClient,
    )
    .await?;
    Ok(Json(session_view(success)))
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
