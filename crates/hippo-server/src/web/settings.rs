//! The facility's settings page for its admin (issue 12 point 6): the
//! time zone its pages show dates in, chosen from common zones. The same
//! check and store call as `POST /api/v1/settings`.

use askama::Template;
use axum::Form;
use axum::response::{Redirect, Response};
use serde::Deserialize;

use crate::api::settings::set_time_zone;
use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::i18n::zone::COMMON_ZONES;
use crate::web::render::{Nav, page};

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    ui: Ui,
    nav: Nav,
    time_zone: String,
    zones: Vec<String>,
    saved: bool,
}

#[derive(Deserialize)]
pub struct SettingsQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn view(
    caller: Authorized,
    axum::extract::Query(query): axum::extract::Query<SettingsQuery>,
) -> Result<Response, WebError> {
    let settings = caller.staff()?.tenant_settings().await?;
    let mut zones: Vec<String> = COMMON_ZONES.iter().map(|z| (*z).to_owned()).collect();
    // A zone set through the API may be none of the common ones.
    if !zones.contains(&settings.time_zone) {
        zones.insert(0, settings.time_zone.clone());
    }
    page(&SettingsPage {
        ui: Ui::current(),
        nav: Nav::of(&caller),
        time_zone: settings.time_zone.clone(),
        zones,
        saved: query.saved.is_some(),
    })
}

#[derive(Deserialize)]
pub struct SettingsForm {
    csrf: String,
    time_zone: String,
}

pub async fn change(
    caller: Authorized,
    Form(form): Form<SettingsForm>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    set_time_zone(&caller, &form.time_zone).await?;
    Ok(Redirect::to("/settings?saved=1"))
}
