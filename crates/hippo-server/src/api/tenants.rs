//! Operator view: tenant metadata, no patient data.

use axum::Json;
use hippo_core::time_util::rfc3339;
use hippo_store::TenantSummary;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::extract::Authorized;

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: String,
    pub name: String,
    /// `lab`, `practice` or `test_centre`.
    pub kind: String,
    pub created_at: String,
    pub staff_count: i64,
    pub patient_count: i64,
    /// Set once the tenant was deleted and its data key destroyed.
    pub deleted_at: Option<String>,
}

impl From<&TenantSummary> for TenantView {
    fn from(t: &TenantSummary) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name.clone(),
            kind: t.kind.clone(),
            created_at: rfc3339(t.created_at),
            staff_count: t.staff_count,
            patient_count: t.patient_count,
            deleted_at: t.deleted_at.map(rfc3339),
        }
    }
}

/// All tenants with their metadata (operators only).
#[utoipa::path(get, path = "/api/v1/tenants", tag = "operator",
    responses((status = 200, body = Vec<TenantView>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(caller: Authorized) -> Result<Json<Vec<TenantView>>, ApiError> {
    let tenants = caller.operator()?.list_tenants().await?;
    Ok(Json(tenants.iter().map(Into::into).collect()))
}
