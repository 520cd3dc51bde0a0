//! Operator console: security alerts raised by the anomaly rules, each
//! with a button that opens an incident from it.

use askama::Template;
use axum::response::Response;
use hippo_core::time_util::UnixMillis;

use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::web::render::{Nav, page};

pub struct AlertRow {
    pub id: String,
    pub raised: UnixMillis,
    pub rule: String,
    /// The rule as stored, for the incident opened from the alert.
    pub rule_code: String,
    pub actor: String,
    pub patient: String,
    pub first: UnixMillis,
    pub last: UnixMillis,
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

/// The rule's name in the reader's language; a rule added later shows as
/// stored until it gets its text.
pub fn rule_label(ui: &Ui, rule: &str) -> String {
    match rule {
        "honeytoken" => ui.t("operator-rule-honeytoken"),
        "many_patients" => ui.t("operator-rule-many-patients"),
        "refused_burst" => ui.t("operator-rule-refused-burst"),
        "sequential_probing" => ui.t("operator-rule-sequential-probing"),
        other => other.replace('_', " "),
    }
}

pub async fn list(caller: Authorized) -> Result<Response, WebError> {
    let alerts = caller.operator()?.alerts(500).await?;
    let ui = Ui::current();
    page(&AlertsPage {
        nav: Nav::of(&caller),
        alerts: alerts
            .iter()
            .map(|a| AlertRow {
                id: a.id.clone(),
                raised: a.raised_at,
                rule: rule_label(&ui, &a.rule),
                rule_code: a.rule.clone(),
                actor: a.actor.clone().unwrap_or_else(|| "-".into()),
                patient: a.patient_id.clone().unwrap_or_else(|| "-".into()),
                first: a.first_at,
                last: a.last_at,
                count: a.count,
                detail: a.detail.clone(),
            })
            .collect(),
        ui,
    })
}
