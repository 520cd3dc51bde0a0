//! Operator console: who accessed what. The same filter and the same
//! scoped queries as `GET /api/v1/forensics/…`: one page of accesses with
//! the totals of the selection, and the blast radius of the window.

use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use hippo_core::time_util::{human, rfc3339};

use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::input::ForensicQuery;
use crate::web::render::{Nav, page};

pub struct AccessRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub route: String,
    pub patient: String,
    pub tenant: String,
    pub outcome: String,
    pub build: String,
}

pub struct AffectedRow {
    pub tenant: String,
    pub patient: String,
    pub accesses: u64,
    pub window: String,
    pub actors: String,
}

#[derive(Template)]
#[template(path = "forensics.html")]
struct ForensicsPage {
    ui: Ui,
    nav: Nav,
    /// The filter as entered, to fill the form again.
    from: String,
    to: String,
    actor: String,
    patient: String,
    tenant: String,
    routes: String,
    total: u64,
    span: String,
    accesses: Vec<AccessRow>,
    /// Query string of the next page, if any.
    next: Option<String>,
    unauthorised: u64,
    affected: Vec<AffectedRow>,
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

pub async fn view(
    caller: Authorized,
    q: Result<Query<ForensicQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let query = crate::input::query(q)?;
    let mut filter = query.filter()?;
    filter.limit = Some(filter.limit.unwrap_or(200).clamp(1, 1000));
    let operator = caller.operator()?;
    let accesses = operator.accesses(&filter).await?;
    let radius = operator
        .blast_radius(&hippo_store::ForensicFilter {
            limit: None,
            after: None,
            ..filter.clone()
        })
        .await?;
    let next = accesses.next.as_ref().map(|cursor| {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("from", &query.from),
            ("to", &query.to),
            ("actor", &query.actor),
            ("patient", &query.patient),
            ("tenant", &query.tenant),
            ("routes", &query.routes),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                pairs.append_pair(key, value);
            }
        }
        pairs.append_pair("after", cursor);
        pairs.finish()
    });
    page(&ForensicsPage {
        ui: Ui::current(),
        nav: Nav::of(&caller),
        from: text(&query.from),
        to: text(&query.to),
        actor: text(&query.actor),
        patient: text(&query.patient),
        tenant: text(&query.tenant),
        routes: text(&query.routes),
        total: accesses.total,
        span: match (accesses.first, accesses.last) {
            (Some(first), Some(last)) => format!("{} – {}", rfc3339(first), rfc3339(last)),
            _ => "-".into(),
        },
        accesses: accesses
            .records
            .iter()
            .map(|r| AccessRow {
                at: rfc3339(r.at),
                actor: format!("{}:{}", r.actor_kind, r.actor_id.as_deref().unwrap_or("-")),
                action: r.action.clone(),
                route: r.route.clone().unwrap_or_else(|| "-".into()),
                patient: r.patient_id.clone().unwrap_or_else(|| "-".into()),
                tenant: r.tenant_id.clone().unwrap_or_else(|| "-".into()),
                outcome: r.outcome.clone(),
                build: r.build.clone(),
            })
            .collect(),
        next,
        unauthorised: radius.accesses,
        affected: radius
            .tenants
            .iter()
            .flat_map(|t| {
                t.patients.iter().map(move |p| AffectedRow {
                    tenant: t.tenant_name.clone(),
                    patient: p.patient_id.clone(),
                    accesses: p.accesses,
                    window: format!("{} – {}", human(p.first), human(p.last)),
                    actors: p.actors.iter().cloned().collect::<Vec<_>>().join(", "),
                })
            })
            .collect(),
    })
}
