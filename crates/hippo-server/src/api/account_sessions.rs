//! One's own sessions over the API (issue 12): list, end one by its
//! public ID, end all others.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hippo_core::time_util::rfc3339;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::extract::Authorized;
use crate::own_sessions;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnSessionView {
    /// The session's public ID (neither its token nor the token's hash).
    pub id: String,
    pub created_at: String,
    pub last_seen_at: String,
    /// `web` (browser form) or `api` (bearer token).
    pub surface: String,
    /// Browser family and operating system, e.g. "Firefox / Linux".
    pub device: String,
    /// The client's network, shortened to /24 or /64.
    pub network: String,
    /// The session this request came with.
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnSessions {
    pub sessions: Vec<OwnSessionView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedOthers {
    pub revoked: u64,
}

/// The caller's live sessions, newest first.
#[utoipa::path(get, path = "/api/v1/account/sessions", tag = "account",
    responses((status = 200, body = OwnSessions), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Authorized,
) -> Result<Json<OwnSessions>, ApiError> {
    let sessions = own_sessions::list(&state, &caller).await?;
    Ok(Json(OwnSessions {
        sessions: sessions
            .into_iter()
            .map(|s| OwnSessionView {
                id: s.public_id,
                created_at: rfc3339(s.created_at),
                last_seen_at: rfc3339(s.last_seen_at),
                surface: s.surface.as_str().into(),
                device: s.device.label,
                network: s.device.network,
                current: s.current,
            })
            .collect(),
    }))
}

/// End one of the caller's sessions; another person's session ID answers
/// 404 like an unknown one.
#[utoipa::path(post, path = "/api/v1/account/sessions/{id}/revoke", tag = "account",
    params(("id" = String, Path, description = "public session ID")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Authorized,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    own_sessions::revoke(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of the caller but the one presented.
#[utoipa::path(post, path = "/api/v1/account/sessions/revoke-others", tag = "account",
    responses((status = 200, body = RevokedOthers), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_others(
    State(state): State<AppState>,
    caller: Authorized,
) -> Result<Json<RevokedOthers>, ApiError> {
    let revoked = own_sessions::revoke_others(&state, &caller).await?;
    Ok(Json(RevokedOthers { revoked }))
}
