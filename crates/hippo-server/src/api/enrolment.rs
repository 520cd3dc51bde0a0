//! `POST /api/v1/auth/login/enrol/start` and `/finish`: staff and
//! operators without a second factor enrol TOTP during login (TR-03161
//! O.Auth_3). The password step answered 202 `enrolment_required` with a
//! pending token; `start` offers a seed (kept on the server), `finish`
//! takes a code of it and answers the session and ten recovery codes.

use axum::Json;
use axum::extract::State;
use hippo_store::SessionSurface;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::auth::{LoginResponse, session_view};
use crate::api::json::ApiJson;
use crate::auth::device::DeviceKey;
use crate::auth::enrolment::{TotpOffer, finish_login_enrolment, start_login_enrolment};
use crate::auth::token::ShownOnce;
use crate::error::{ApiError, ErrorBody};
use crate::extract::RequestMeta;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[derive(Debug)]
pub struct EnrolStartRequest {
    #[schema(value_type = String, format = Password)]
    pub pending_token: SecretString,
}

/// A TOTP seed to set up in an authenticator app. Only a right code of
/// it (sent to the matching `finish`) makes it the account's factor.
#[derive(Serialize, ToSchema)]
pub struct TotpOfferView {
    /// The seed in base32, for typing in.
    #[schema(value_type = String)]
    pub secret: ShownOnce,
    /// `otpauth://totp/Hippo:...` with issuer `Hippo`.
    #[schema(value_type = String)]
    pub otpauth_uri: ShownOnce,
    /// The URI as a QR code, SVG markup.
    #[schema(value_type = String)]
    pub qr_svg: ShownOnce,
}

impl From<TotpOffer> for TotpOfferView {
    fn from(offer: TotpOffer) -> Self {
        Self {
            secret: ShownOnce::new(SecretString::from(offer.secret_base32)),
            otpauth_uri: ShownOnce::new(SecretString::from(offer.otpauth_uri)),
            qr_svg: ShownOnce::new(SecretString::from(offer.qr_svg)),
        }
    }
}

/// The title of the QR code's SVG (screen readers announce it).
pub const QR_TITLE: &str = "QR code of the TOTP secret";

/// Enrolment, step 1: a fresh seed (replacing an earlier offer).
#[utoipa::path(post, path = "/api/v1/auth/login/enrol/start", tag = "auth",
    request_body = EnrolStartRequest,
    responses(
        (status = 200, description = "a seed to set up; nothing is stored as a factor yet", body = TotpOfferView),
        (status = 401, description = "unknown or expired pending login, or not one for enrolment", body = ErrorBody),
    ))]
pub async fn start(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(request): ApiJson<EnrolStartRequest>,
) -> Result<Json<TotpOfferView>, ApiError> {
    let offer = start_login_enrolment(
        &state,
        request.pending_token.expose_secret(),
        QR_TITLE,
        &meta.origin,
    )
    .await?;
    Ok(Json(offer.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[derive(Debug)]
pub struct EnrolFinishRequest {
    #[schema(value_type = String, format = Password)]
    pub pending_token: SecretString,
    /// The 6-digit code the app shows for the offered seed.
    #[schema(value_type = String, format = Password)]
    pub code: SecretString,
}

/// The session after an enrolment, and the recovery codes (shown once).
#[derive(Serialize, ToSchema)]
pub struct EnrolledLogin {
    #[serde(flatten)]
    pub session: LoginResponse,
    /// Ten single-use codes for when the app is lost; shown only now.
    #[schema(value_type = Vec<String>)]
    pub recovery_codes: Vec<ShownOnce>,
}

/// Enrolment, step 2: a code of the offered seed. Right: the seed is the
/// account's factor, the pending login is used up, and the answer is the
/// session with ten recovery codes. Wrong: nothing is stored.
#[utoipa::path(post, path = "/api/v1/auth/login/enrol/finish", tag = "auth",
    request_body = EnrolFinishRequest,
    responses(
        (status = 200, description = "enrolled and logged in", body = EnrolledLogin),
        (status = 401, description = "wrong code, or unknown, expired or used pending login", body = ErrorBody),
        (status = 429, description = "too many wrong codes for this account", body = ErrorBody),
    ))]
pub async fn finish(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(request): ApiJson<EnrolFinishRequest>,
) -> Result<Json<EnrolledLogin>, ApiError> {
    let (success, enrolled) = finish_login_enrolment(
        &state,
        request.pending_token.expose_secret(),
        request.code.expose_secret(),
        SessionSurface::Api,
        &meta.origin,
        &DeviceKey::ApiClient,
    )
    .await?;
    Ok(Json(EnrolledLogin {
        session: session_view(success),
        recovery_codes: shown_once(enrolled.recovery_codes),
    }))
}

pub(crate) fn shown_once(codes: Vec<String>) -> Vec<ShownOnce> {
    codes
        .into_iter()
        .map(|c| ShownOnce::new(SecretString::from(c)))
        .collect()
}
