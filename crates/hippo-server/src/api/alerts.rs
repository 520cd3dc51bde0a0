//! Operators' list of security alerts raised by the anomaly rules.

use axum::Json;
use hippo_store::{Admitted, Alert};

use crate::error::{ApiError, ErrorBody};
use crate::extract::Authorized;

/// Alerts, newest first (operators only).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "operator",
    responses((status = 200, description = "alerts, newest first"), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(caller: Authorized) -> Result<Json<Admitted<Vec<Alert>>>, ApiError> {
    Ok(Json(caller.operator()?.alerts(500).await?))
}
