//! Operator console: security alerts raised by the anomaly rules.

use askama::Template;
use axum::response::Response;
use hippo_core::time_util::human;

use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::web::render::{Nav, page};

pub struct AlertRow {
    pub raised: String,
    pub rule: String,
    pub actor: String,
    pub patient: String,
    pub window: String,
    pub count: i64,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    ui: Ui,
    nav: Nav,
    alerts: Vec<AlertRow>,
}

pub async fn list(caller: Authorized) -> Result<Response, WebError> {
    let alerts = caller.operator()?.alerts(500).await?;
    page(&AlertsPage {
        ui: Ui::current(),
        nav: Nav::of(&caller),
        alerts: alerts
            .iter()
            .map(|a| AlertRow {
                raised: human(a.raised_at),
                rule: a.rule.replace('_', " "),
                actor: a.actor.clone().unwrap_or_else(|| "-".into()),
                patient: a.patient_id.clone().unwrap_or_else(|| "-".into()),
                window: format!("{} – {}", human(a.first_at), human(a.last_at)),
                count: a.count,
                detail: a.detail.clone(),
            })
            .collect(),
    })
}
