//! `POST /api/v1/auth/scoped-token` (issue 13): a token limited to SMART
//! scopes, minted from the caller's own API session, for an app (a FHIR
//! client, a patient's health app) that should see less than its user.
//! The new token is an ordinary API session of the same subject: it shows
//! in the sessions list, is revoked like one, and every request with it is
//! decided by the policy again and then cut down to its scopes. A scoped
//! token cannot mint another (the action is out of every scope's reach).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hippo_core::audit::{AuditActor, AuditEvent, Outcome};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::time_util::{now_millis, rfc3339};
use hippo_store::LoginSubject;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::json::ApiJson;
use crate::auth::device::session_device;
use crate::auth::token::{ShownOnce, hash_token, new_token};
use crate::error::{ApiError, ErrorBody, Failure};
use crate::extract::Authorized;
use crate::scope_grant::grant;
use crate::state::AppState;

/// A scoped token lives at most this long (and never past the server's
/// absolute session timeout).
const MAX_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopedTokenRequest {
    /// Space-separated SMART scopes, e.g. `patient/*.read` or
    /// `user/DiagnosticReport.read user/Patient.read`. Scopes beyond what
    /// the caller may do are refused (422), none is silently dropped.
    pub scope: String,
    /// Seconds until the token is refused: 60 to 43200 (default 3600).
    #[serde(default)]
    pub expires_in: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct ScopedToken {
    /// Send as `Authorization: Bearer <token>`; shown this once.
    #[schema(value_type = String)]
    pub token: ShownOnce,
    /// The granted scopes, normalised (`patient/Observation.rs` reads
    /// `patient/Observation.read`).
    pub scope: String,
    pub expires_at: String,
}

/// Mint a token limited to SMART scopes from the caller's API session.
#[utoipa::path(post, path = "/api/v1/auth/scoped-token", tag = "auth",
    request_body = ScopedTokenRequest,
    responses((status = 201, body = ScopedToken), (status = 401, body = ErrorBody),
        (status = 422, description = "a scope is malformed or asks for more than the caller may do", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn issue(
    State(state): State<AppState>,
    caller: Authorized,
    ApiJson(request): ApiJson<ScopedTokenRequest>,
) -> Result<(StatusCode, Json<ScopedToken>), ApiError> {
    let subject = LoginSubject::of(&caller.principal).ok_or(Failure::Forbidden)?;
    let granted = grant(caller.principal.kind(), &request.scope)?.to_string();
    let lifetime = match request.expires_in {
        None => DEFAULT_LIFETIME,
        Some(secs) if (60..=MAX_LIFETIME.as_secs()).contains(&secs) => Duration::from_secs(secs),
        Some(_) => {
            let max = MAX_LIFETIME.as_secs();
            return Err(Failure::Invalid(format!("expires_in: 60 to {max} seconds")).into());
        }
    }
    .min(state.config().session_absolute_timeout);
    let token = new_token();
    let now = now_millis();
    let expires_at = now + lifetime.as_millis() as i64;
    state
        .sessions()
        .create_scoped_session(
            &hash_token(&token),
            subject,
            now,
            expires_at,
            &session_device(&caller.origin),
            &granted,
        )
        .await
        .map_err(Failure::from)?;
    let event = AuditEvent::new(
        Action::ScopedTokenIssue,
        ResourceKind::Session,
        Outcome::Success,
    )
    .detail(format!("scope={granted}"));
    state
        .audit_log()
        .append(AuditActor::of(&caller.principal), event, &caller.origin)
        .await
        .map_err(Failure::from)?;
    Ok((
        StatusCode::CREATED,
        Json(ScopedToken {
            token: ShownOnce::new(secrecy::SecretString::from(token)),
            scope: granted,
            expires_at: rfc3339(expires_at),
        }),
    ))
}
