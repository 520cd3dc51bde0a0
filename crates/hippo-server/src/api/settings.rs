//! The facility's settings for its admin (issue 12 point 6): the time
//! zone its pages show dates in. The settings page calls the same
//! functions.

use axum::Json;
use hippo_store::{Admitted, TenantSettings};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::json::ApiJson;
use crate::error::{ApiError, ErrorBody, Failure};
use crate::extract::Authorized;
use crate::i18n::zone::is_known_zone;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsRequest {
    /// An IANA time zone name, e.g. `Europe/Berlin`.
    pub time_zone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    pub time_zone: String,
}

impl From<&TenantSettings> for SettingsView {
    fn from(s: &TenantSettings) -> Self {
        Self {
            time_zone: s.time_zone.clone(),
        }
    }
}

/// Set the facility's time zone after checking the name against jiff's
/// time zone database; an unknown name changes nothing.
pub async fn set_time_zone(
    caller: &Authorized,
    time_zone: &str,
) -> Result<Admitted<TenantSettings>, Failure> {
    let staff = caller.staff()?;
    let name = time_zone.trim();
    if !is_known_zone(name) {
        return Err(Failure::Invalid(
            "time_zone: an IANA time zone name such as Europe/Berlin".into(),
        ));
    }
    Ok(staff.set_time_zone(name).await?)
}

/// The facility's settings.
#[utoipa::path(get, path = "/api/v1/settings", tag = "settings",
    responses((status = 200, body = SettingsView), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(caller: Authorized) -> Result<Json<SettingsView>, ApiError> {
    let settings = caller.staff()?.tenant_settings().await?;
    Ok(Json((&*settings).into()))
}

/// Change the facility's settings.
#[utoipa::path(post, path = "/api/v1/settings", tag = "settings",
    request_body = SettingsRequest,
    responses((status = 200, body = SettingsView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn change(
    caller: Authorized,
    ApiJson(request): ApiJson<SettingsRequest>,
) -> Result<Json<SettingsView>, ApiError> {
    let settings = set_time_zone(&caller, &request.time_zone).await?;
    Ok(Json((&*settings).into()))
}
