//! Password reset over the API (issue 12). The request answers 202 for
//! every address; the confirmation sets the password once per token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::json::ApiJson;
use crate::auth::password_reset;
use crate::error::{ApiError, ErrorBody};
use crate::extract::RequestMeta;
use crate::i18n::Lang;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordResetAccepted {
    /// Always true: the answer does not tell whether the address exists.
    pub accepted: bool,
}

/// Ask for a reset link by e-mail. Same answer whether or not the address
/// belongs to an account.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, body = PasswordResetAccepted),
        (status = 429, description = "too many requests from this address", body = ErrorBody),
    ))]
pub async fn request(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<PasswordResetRequest>,
) -> Result<(StatusCode, Json<PasswordResetAccepted>), ApiError> {
    password_reset::request(
        &state,
        &body.email,
        &meta.origin,
        meta.client_ip,
        Lang::current(),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(PasswordResetAccepted { accepted: true }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    /// The token from the mail's link.
    #[schema(value_type = String, format = Password)]
    pub token: SecretString,
    /// At least 12 characters.
    #[schema(value_type = String, format = Password)]
    pub new_password: SecretString,
}

/// Set a new password with the mail's token (once; 30 minutes). Ends every
/// session of the account; the second factor is still asked at login.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth",
    request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "password set, all sessions ended"),
        (status = 410, description = "token unknown, used or expired", body = ErrorBody),
        (status = 422, description = "password too short or too long", body = ErrorBody),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<PasswordResetConfirm>,
) -> Result<StatusCode, ApiError> {
    password_reset::confirm(
        &state,
        body.token.expose_secret(),
        body.new_password.expose_secret(),
        &meta.origin,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
