//! Operator console: incidents with the GDPR Art. 33 deadline clock (72
//! hours from awareness to notifying the supervisory authority), and
//! opening an incident from an alert. The clock is computed here, on the
//! server, in the operator's time zone; the list names no patient.

use askama::Template;
use axum::Form;
use axum::response::{Redirect, Response};
use hippo_core::time_util::{UnixMillis, now_millis};
use serde::Deserialize;

use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::web::alerts::rule_label;
use crate::web::render::{Nav, page};

/// Where the notification deadline stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineClock {
    Left { hours: i64, minutes: i64 },
    Overdue { hours: i64, minutes: i64 },
}

/// Time left until `deadline` (whole minutes, rounded down, so the clock
/// never promises more time than there is), or how long it is overdue.
pub fn deadline_clock(now: UnixMillis, deadline: UnixMillis) -> DeadlineClock {
    const MINUTE: i64 = 60_000;
    if now < deadline {
        let minutes = (deadline - now) / MINUTE;
        DeadlineClock::Left {
            hours: minutes / 60,
            minutes: minutes % 60,
        }
    } else {
        let minutes = (now - deadline) / MINUTE;
        DeadlineClock::Overdue {
            hours: minutes / 60,
            minutes: minutes % 60,
        }
    }
}

pub struct IncidentRow {
    pub id: String,
    pub title: String,
    pub detected: UnixMillis,
    pub deadline: UnixMillis,
    pub clock: String,
    pub overdue: bool,
    pub affected: String,
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    ui: Ui,
    nav: Nav,
    incidents: Vec<IncidentRow>,
}

pub async fn list(caller: Authorized) -> Result<Response, WebError> {
    let incidents = caller.operator()?.incidents().await?;
    let ui = Ui::current();
    let now = now_millis();
    page(&IncidentsPage {
        nav: Nav::of(&caller),
        incidents: incidents
            .iter()
            .map(|i| {
                let clock = deadline_clock(now, i.deadline_at);
                let (key, hours, minutes) = match clock {
                    DeadlineClock::Left { hours, minutes } => {
                        ("operator-incidents-left", hours, minutes)
                    }
                    DeadlineClock::Overdue { hours, minutes } => {
                        ("operator-incidents-overdue", hours, minutes)
                    }
                };
                IncidentRow {
                    id: i.id.clone(),
                    title: i.title.clone(),
                    detected: i.detected_at,
                    deadline: i.deadline_at,
                    clock: ui.t2(key, ("hours", &hours), ("minutes", &minutes)),
                    overdue: matches!(clock, DeadlineClock::Overdue { .. }),
                    affected: ui.t2(
                        "operator-incidents-affected",
                        ("patients", &i.affected_patients),
                        ("tenants", &i.affected_tenants),
                    ),
                }
            })
            .collect(),
        ui,
    })
}

#[derive(Deserialize)]
pub struct OpenFromAlert {
    csrf: String,
    alert_id: String,
    /// The alert's rule, for the title; the store reads the alert itself.
    #[serde(default)]
    rule: String,
}

/// Open an incident from an alert (the form on the alerts page): bounded
/// by the alert's actor and window, aware since now.
pub async fn open_from_alert(
    caller: Authorized,
    ui: Ui,
    Form(form): Form<OpenFromAlert>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let rule = if form.rule.is_empty() {
        "alert".to_owned()
    } else {
        rule_label(&ui, &form.rule)
    };
    let title = ui.t1("operator-incidents-from-alert", "rule", rule);
    caller
        .operator()?
        .open_incident_from_alert(form.alert_id.trim(), &title)
        .await?;
    Ok(Redirect::to("/incidents"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn the_clock_counts_down_from_72_hours() {
        let aware = 1_000_000_000_000;
        let deadline = aware + 72 * HOUR;
        assert_eq!(
            deadline_clock(aware, deadline),
            DeadlineClock::Left {
                hours: 72,
                minutes: 0
            }
        );
        assert_eq!(
            deadline_clock(aware + 30 * HOUR + 30 * 60_000 + 1, deadline),
            DeadlineClock::Left {
                hours: 41,
                minutes: 29
            },
            "rounded down: never more time than there is"
        );
    }

    #[test]
    fn past_the_deadline_it_is_overdue() {
        let deadline = 1_000_000_000_000;
        assert_eq!(
            deadline_clock(deadline, deadline),
            DeadlineClock::Overdue {
                hours: 0,
                minutes: 0
            }
        );
        assert_eq!(
            deadline_clock(deadline + 3 * HOUR + 5 * 60_000, deadline),
            DeadlineClock::Overdue {
                hours: 3,
                minutes: 5
            }
        );
    }
}
