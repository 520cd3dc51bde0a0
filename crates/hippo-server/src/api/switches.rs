//! Operator API: service switches. Listing shows every stored switch,
//! pending four-eyes requests and how current this instance's view is;
//! a change is applied and audited in one transaction, and this instance
//! rereads at once (the others within their poll interval, or at once on
//! PostgreSQL through `NOTIFY`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hippo_core::TenantId;
use hippo_core::switches::{Service, SwitchScope};
use hippo_core::time_util::rfc3339;
use hippo_store::{ChangeOutcome, SwitchChange, SwitchListing, SwitchState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::json::ApiJson;
use crate::error::{ApiError, ErrorBody, Failure};
use crate::extract::Authorized;
use crate::state::AppState;
use crate::switchboard::WatcherHealth;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchChangeRequest {
    /// `login`, `findings.read`, `findings.download`, `findings.upload`,
    /// `messaging`, `retrieval` or `api`.
    pub service: String,
    /// One tenant; absent for everywhere.
    pub tenant_id: Option<String>,
    /// `off` or `on`.
    pub state: String,
    /// Why (internal: audit log and operators only).
    pub reason: Option<String>,
    /// What users are told while the service is off.
    pub message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SwitchView {
    pub service: String,
    /// Absent for everywhere.
    pub tenant_id: Option<String>,
    pub state: String,
    pub reason: String,
    pub message: Option<String>,
    pub changed_by: String,
    pub changed_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PendingView {
    pub service: String,
    pub tenant_id: Option<String>,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SwitchesView {
    pub switches: Vec<SwitchView>,
    /// Four-eyes requests waiting for a second operator.
    pub pending: Vec<PendingView>,
    /// What the answering instance enforces right now.
    pub instance: WatcherHealth,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SwitchChangeView {
    /// `changed`, `unchanged`, `awaiting_second_operator` or `approved`.
    pub outcome: String,
    pub service: String,
    pub tenant_id: Option<String>,
    /// The state in force after the request.
    pub state: String,
    /// For `approved`: the operator whose request was completed.
    pub requested_by: Option<String>,
}

/// A change request as typed by an operator (API body or console form),
/// checked: a known service, `on` or `off`, a reason, a well-formed tenant.
pub fn parse_change(
    service: &str,
    tenant: Option<&str>,
    state: &str,
    reason: Option<&str>,
    message: Option<&str>,
) -> Result<SwitchChange, Failure> {
    let service: Service = service
        .trim()
        .parse()
        .map_err(|e: hippo_core::switches::UnknownService| Failure::Invalid(e.to_string()))?;
    let state = match state.trim() {
        "off" => SwitchState::Off,
        "on" => SwitchState::On,
        other => {
            let shown: String = other.chars().take(32).collect();
            return Err(Failure::Invalid(format!(
                "state: {shown:?} is neither \"off\" nor \"on\""
            )));
        }
    };
    let scope = match tenant.map(str::trim).filter(|t| !t.is_empty()) {
        None => SwitchScope::Everywhere,
        Some(raw) => SwitchScope::Tenant(
            raw.parse::<TenantId>()
                .map_err(|_| Failure::Invalid("tenant_id: not a tenant ID (a UUID)".into()))?,
        ),
    };
    let reason = reason.map(str::trim).unwrap_or_default();
    if reason.is_empty() {
        return Err(Failure::Invalid("reason: a reason is required".into()));
    }
    Ok(SwitchChange {
        service,
        scope,
        state,
        reason: reason.to_owned(),
        user_message: message.map(str::to_owned),
    })
}

fn listing_view(listing: &SwitchListing, instance: WatcherHealth) -> SwitchesView {
    SwitchesView {
        switches: listing
            .switches
            .iter()
            .map(|s| SwitchView {
                service: s.service.as_str().into(),
                tenant_id: s.tenant_id.map(|t| t.to_string()),
                state: s.state.as_str().into(),
                reason: s.reason.clone(),
                message: s.user_message.clone(),
                changed_by: s.changed_by.clone(),
                changed_at: rfc3339(s.changed_at),
            })
            .collect(),
        pending: listing
            .pending
            .iter()
            .map(|p| PendingView {
                service: p.service.as_str().into(),
                tenant_id: p.tenant_id.map(|t| t.to_string()),
                reason: p.reason.clone(),
                requested_by: p.requested_by.clone(),
                requested_at: rfc3339(p.requested_at),
            })
            .collect(),
        instance,
    }
}

/// Apply a change through the caller's operator scope and reread at once.
pub async fn apply(
    state: &AppState,
    caller: &Authorized,
    change: &SwitchChange,
) -> Result<ChangeOutcome, Failure> {
    let outcome = caller
        .operator()?
        .change_switch(change, state.config().switch_four_eyes)
        .await?;
    state.switches().refresh(true).await;
    Ok(outcome)
}

/// Every service switch, pending four-eyes requests and this instance's
/// view (operators only).
#[utoipa::path(get, path = "/api/v1/switches", tag = "operator",
    responses((status = 200, body = SwitchesView), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Authorized,
) -> Result<Json<SwitchesView>, ApiError> {
    let listing = caller.operator()?.switches().await?;
    Ok(Json(listing_view(&listing, state.switches().health())))
}

/// Turn a service off or on, everywhere or for one tenant (operators
/// only). Under four-eyes, turning a service back on everywhere answers
/// 202 until a second operator sends the same request.
#[utoipa::path(post, path = "/api/v1/switches", tag = "operator",
    request_body = SwitchChangeRequest,
    responses((status = 200, body = SwitchChangeView), (status = 202, body = SwitchChangeView),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn change(
    State(state): State<AppState>,
    caller: Authorized,
    ApiJson(request): ApiJson<SwitchChangeRequest>,
) -> Result<(StatusCode, Json<SwitchChangeView>), ApiError> {
    let change = parse_change(
        &request.service,
        request.tenant_id.as_deref(),
        &request.state,
        request.reason.as_deref(),
        request.message.as_deref(),
    )?;
    let outcome = apply(&state, &caller, &change).await?;
    let (status, name, in_force, requested_by) = match outcome {
        ChangeOutcome::Changed { new, .. } => (StatusCode::OK, "changed", new, None),
        ChangeOutcome::Unchanged { state } => (StatusCode::OK, "unchanged", state, None),
        ChangeOutcome::AwaitingSecondOperator => (
            StatusCode::ACCEPTED,
            "awaiting_second_operator",
            SwitchState::Off,
            None,
        ),
        ChangeOutcome::Approved { requested_by } => (
            StatusCode::OK,
            "approved",
            SwitchState::On,
            Some(requested_by),
        ),
    };
    Ok((
        status,
        Json(SwitchChangeView {
            outcome: name.into(),
            service: change.service.as_str().into(),
            tenant_id: change.scope.tenant().map(|t| t.to_string()),
            state: in_force.as_str().into(),
            requested_by,
        }),
    ))
}
