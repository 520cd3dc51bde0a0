//! The sessions page (issue 12): where one is logged in, with a button to
//! end each other session and one to end all others.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use hippo_core::time_util::UnixMillis;
use hippo_store::SessionSurface;
use serde::Deserialize;

use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::own_sessions;
use crate::state::AppState;
use crate::web::login::CsrfOnly;
use crate::web::render::{Nav, page};

struct SessionRow {
    id: String,
    device: String,
    network: String,
    web: bool,
    created: UnixMillis,
    last_seen: UnixMillis,
    current: bool,
}

#[derive(Template)]
#[template(path = "account_sessions.html")]
struct SessionsPage {
    ui: Ui,
    nav: Nav,
    sessions: Vec<SessionRow>,
    /// Whether any session but this one is live.
    others: bool,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct SessionsQuery {
    revoked: Option<u8>,
}

pub async fn view(
    State(state): State<AppState>,
    caller: Authorized,
    Query(query): Query<SessionsQuery>,
) -> Result<Response, WebError> {
    let sessions = own_sessions::list(&state, &caller).await?;
    let ui = Ui::current();
    let rows: Vec<SessionRow> = sessions
        .into_iter()
        .map(|s| SessionRow {
            id: s.public_id,
            device: s.device.label,
            network: s.device.network,
            web: s.surface == SessionSurface::Web,
            created: s.created_at,
            last_seen: s.last_seen_at,
            current: s.current,
        })
        .collect();
    page(&SessionsPage {
        nav: Nav::of(&caller),
        others: rows.iter().any(|r| !r.current),
        sessions: rows,
        notice: query.revoked.map(|_| ui.t("sessions-revoked-notice")),
        ui,
    })
}

pub async fn revoke(
    State(state): State<AppState>,
    caller: Authorized,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    caller.verify_csrf(&form.csrf)?;
    own_sessions::revoke(&state, &caller, &id).await?;
    Ok(Redirect::to("/account/sessions?revoked=1").into_response())
}

pub async fn revoke_others(
    State(state): State<AppState>,
    caller: Authorized,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    caller.verify_csrf(&form.csrf)?;
    own_sessions::revoke_others(&state, &caller).await?;
    Ok(Redirect::to("/account/sessions?revoked=1").into_response())
}
