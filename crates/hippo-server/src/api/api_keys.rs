//! Lab-system API keys, managed by tenant admins. A key is shown once, at
//! creation; afterwards only its metadata is listed.

use axum::Json;
use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use hippo_core::ApiKeyId;
use hippo_core::time_util::{now_millis, rfc3339};
use hippo_store::{Admitted, ApiKeyRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::json::ApiJson;
use crate::auth::token::{ShownOnce, hash_token, new_api_key};
use crate::error::{ApiError, ErrorBody, Failure};
use crate::extract::Authorized;
use crate::scope_grant::grant;
use crate::state::AppState;
use hippo_core::PrincipalKind;
use secrecy::{ExposeSecret, SecretString};

const MILLIS_PER_DAY: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// What the key is for, e.g. "Analyser hall 2".
    pub name: String,
    /// Days until the key is refused: 1 up to the server's maximum
    /// (default 365, also the default validity).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
    /// SMART scopes the key is limited to, space-separated, e.g.
    /// `system/DiagnosticReport.write` (issue 13). Without: every right of
    /// a lab system. Scopes beyond what a lab system may do are refused.
    #[serde(default)]
    pub scope: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    pub expires_at: String,
    /// Past `expires_at`: requests with the key get 401.
    pub expired: bool,
    /// The SMART scopes the key is limited to; `null`: every right of a
    /// lab system.
    pub scope: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The secret, shown this once. Send as `Authorization: Bearer <secret>`.
    #[schema(value_type = String)]
    pub secret: ShownOnce,
}

impl From<&ApiKeyRecord> for ApiKeyView {
    fn from(k: &ApiKeyRecord) -> Self {
        Self {
            id: k.id.to_string(),
            name: k.name.clone(),
            created_at: rfc3339(k.created_at),
            revoked_at: k.revoked_at.map(rfc3339),
            expires_at: rfc3339(k.expires_at),
            expired: k.is_expired(now_millis()),
            scope: k.scopes.clone(),
        }
    }
}

/// The facility's lab-system keys (never their secrets).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api keys",
    responses((status = 200, body = Vec<ApiKeyView>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(caller: Authorized) -> Result<Json<Vec<ApiKeyView>>, ApiError> {
    let keys = caller.staff()?.list_api_keys().await?;
    Ok(Json(keys.iter().map(Into::into).collect()))
}

/// Create a key for a lab system of the caller's facility.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api keys",
    request_body = CreateApiKeyRequest,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Authorized,
    ApiJson(request): ApiJson<CreateApiKeyRequest>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let scope = request.scope.as_deref();
    let (record, secret) = issue_key(
        &state,
        &caller,
        &request.name,
        request.expires_in_days,
        scope,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            key: (&*record).into(),
            secret: ShownOnce::new(secret),
        }),
    ))
}

/// Create a key: the name checked, the validity within the configured
/// maximum (default: the maximum), the secret generated here and only its
/// hash stored. The API and the API keys page (`web/api_keys.rs`) both
/// create keys through this.
pub async fn issue_key(
    state: &AppState,
    caller: &Authorized,
    name: &str,
    expires_in_days: Option<u32>,
    scope: Option<&str>,
) -> Result<(Admitted<ApiKeyRecord>, SecretString), Failure> {
    let staff = caller.staff()?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Failure::Invalid(
            "name: 1 to 100 printable characters".into(),
        ));
    }
    let max_days = max_validity_days(state);
    let days = expires_in_days.unwrap_or(max_days);
    if days == 0 || days > max_days {
        return Err(Failure::Invalid(format!(
            "expires_in_days: 1 to {max_days}"
        )));
    }
    let expires_at = now_millis() + i64::from(days) * MILLIS_PER_DAY;
    // Keys are for lab systems: their scopes are checked against what a
    // lab system may do, never against the admin who creates the key.
    let scopes = match scope.map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => Some(grant(PrincipalKind::LabSystem, text)?.to_string()),
        None => None,
    };
    let secret = new_api_key();
    let record = staff
        .create_api_key_scoped(
            name,
            &hash_token(secret.expose_secret()),
            expires_at,
            scopes.as_deref(),
        )
        .await?;
    Ok((record, secret))
}

/// The longest validity a new key may get, in days.
pub fn max_validity_days(state: &AppState) -> u32 {
    state.config().api_key_max_validity_days.max(1)
}

/// Revoke a key; requests with it fail from now on.
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/revoke", tag = "api keys",
    params(("id" = String, Path, description = "API key ID")),
    responses((status = 200, body = ApiKeyView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<ApiKeyView>, ApiError> {
    let id: ApiKeyId = caller.parse_id(&raw).await?;
    let record = caller.staff()?.revoke_api_key(id).await?;
    Ok(Json((&*record).into()))
}
