//! Operator console: the service switches, with a form to turn a service
//! off or on (everywhere or for one tenant). The same checks and the same
//! operator scope as `POST /api/v1/switches`.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{Redirect, Response};
use hippo_core::switches::Service;
use hippo_core::time_util::UnixMillis;
use serde::Deserialize;

use crate::api::switches::{apply, parse_change};
use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::state::AppState;
use crate::web::render::{Nav, page};

pub struct SwitchRow {
    pub service: String,
    /// The tenant it applies to; `None` is everywhere.
    pub tenant: Option<String>,
    pub on: bool,
    pub reason: String,
    pub message: String,
    /// When and by whom, in the reader's language.
    pub changed: String,
}

pub struct PendingRow {
    pub service: String,
    pub requested_by: String,
    pub requested: UnixMillis,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "switches.html")]
struct SwitchesPage {
    ui: Ui,
    nav: Nav,
    services: Vec<&'static str>,
    switches: Vec<SwitchRow>,
    pending: Vec<PendingRow>,
    version: i64,
    stale: Option<UnixMillis>,
    four_eyes: bool,
}

pub async fn view(State(state): State<AppState>, caller: Authorized) -> Result<Response, WebError> {
    let listing = caller.operator()?.switches().await?;
    let health = state.switches().health();
    let ui = Ui::current();
    page(&SwitchesPage {
        nav: Nav::of(&caller),
        services: Service::ALL.iter().map(|s| s.as_str()).collect(),
        switches: listing
            .switches
            .iter()
            .map(|s| SwitchRow {
                service: s.service.as_str().into(),
                tenant: s.tenant_id.map(|t| t.to_string()),
                on: s.state.as_str() == "on",
                reason: s.reason.clone(),
                message: s.user_message.clone().unwrap_or_default(),
                changed: ui.t2(
                    "operator-switches-changed",
                    ("when", &ui.date_time(&s.changed_at)),
                    ("who", &s.changed_by),
                ),
            })
            .collect(),
        pending: listing
            .pending
            .iter()
            .map(|p| PendingRow {
                service: p.service.as_str().into(),
                requested_by: p.requested_by.clone(),
                requested: p.requested_at,
                reason: p.reason.clone(),
            })
            .collect(),
        version: health.version,
        stale: health.stale_since,
        four_eyes: state.config().switch_four_eyes,
        ui,
    })
}

#[derive(Deserialize)]
pub struct SwitchForm {
    csrf: String,
    service: String,
    #[serde(default)]
    tenant_id: String,
    state: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    message: String,
}

pub async fn change(
    State(state): State<AppState>,
    caller: Authorized,
    Form(form): Form<SwitchForm>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let message = Some(form.message.as_str()).filter(|m| !m.trim().is_empty());
    let change = parse_change(
        &form.service,
        Some(form.tenant_id.as_str()),
        &form.state,
        Some(form.reason.as_str()),
        message,
    )?;
    apply(&state, &caller, &change).await?;
    Ok(Redirect::to("/switches"))
}
