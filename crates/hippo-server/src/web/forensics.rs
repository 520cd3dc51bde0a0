//! Operator console: who accessed what. The same filter, the same purpose
//! binding and the same scoped queries as `GET /api/v1/forensics/…`: one
//! page of accesses with the totals of the selection, their timeline
//! picture, and the blast radius of the window. Without any parameter the
//! page shows the empty form; a search without a purpose is refused.

use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use hippo_core::time_util::UnixMillis;

use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::input::ForensicQuery;
use crate::web::access_timeline::{TimelineEvent, TimelineLabels, timeline_svg};
use crate::web::render::{Nav, page};

pub struct AccessRow {
    pub at: UnixMillis,
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
    pub first: UnixMillis,
    pub last: UnixMillis,
    pub actors: String,
}

/// What a search found; absent until the operator searched.
pub struct Findings {
    total: u64,
    first: Option<UnixMillis>,
    last: Option<UnixMillis>,
    accesses: Vec<AccessRow>,
    /// The timeline picture of `accesses` (escaped SVG markup).
    timeline: String,
    /// Query string of the next page, if any.
    next: Option<String>,
    unauthorised: u64,
    affected: Vec<AffectedRow>,
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
    incident: String,
    reason: String,
    result: Option<Findings>,
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// The parameters that carry over to the next page.
fn next_page(query: &ForensicQuery, cursor: &str) -> String {
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in [
        ("from", &query.from),
        ("to", &query.to),
        ("actor", &query.actor),
        ("patient", &query.patient),
        ("tenant", &query.tenant),
        ("routes", &query.routes),
        ("incident", &query.incident),
        ("reason", &query.reason),
    ] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            pairs.append_pair(key, value);
        }
    }
    pairs.append_pair("after", cursor);
    pairs.finish()
}

async fn search(ui: &Ui, caller: &Authorized, query: &ForensicQuery) -> Result<Findings, WebError> {
    let purpose = query.purpose()?;
    let mut filter = query.filter()?;
    filter.limit = Some(filter.limit.unwrap_or(200).clamp(1, 1000));
    let operator = caller.operator()?;
    let accesses = operator.accesses(&filter, &purpose).await?;
    let radius = operator
        .blast_radius(
            &hippo_store::ForensicFilter {
                limit: None,
                after: None,
                ..filter.clone()
            },
            &purpose,
        )
        .await?;
    let events: Vec<TimelineEvent> = accesses
        .records
        .iter()
        .map(|r| TimelineEvent {
            at: r.at,
            lane: r.action.clone(),
            refused: r.outcome != "success",
        })
        .collect();
    let page_first = events.iter().map(|e| e.at).min();
    let page_last = events.iter().map(|e| e.at).max();
    let timeline = timeline_svg(
        &events,
        &TimelineLabels {
            title: ui.t1("operator-forensics-timeline-title", "count", events.len()),
            first: page_first.map(|t| ui.date_time(&t)).unwrap_or_default(),
            last: page_last.map(|t| ui.date_time(&t)).unwrap_or_default(),
            empty: ui.t("operator-forensics-none"),
        },
    );
    Ok(Findings {
        total: accesses.total,
        first: accesses.first,
        last: accesses.last,
        timeline,
        next: accesses.next.as_deref().map(|c| next_page(query, c)),
        accesses: accesses
            .records
            .iter()
            .map(|r| AccessRow {
                at: r.at,
                actor: format!("{}:{}", r.actor_kind, r.actor_id.as_deref().unwrap_or("-")),
                action: r.action.clone(),
                route: r.route.clone().unwrap_or_else(|| "-".into()),
                patient: r.patient_id.clone().unwrap_or_else(|| "-".into()),
                tenant: r.tenant_id.clone().unwrap_or_else(|| "-".into()),
                outcome: r.outcome.clone(),
                build: r.build.clone(),
            })
            .collect(),
        unauthorised: radius.accesses,
        affected: radius
            .tenants
            .iter()
            .flat_map(|t| {
                t.patients.iter().map(move |p| AffectedRow {
                    tenant: t.tenant_name.clone(),
                    patient: p.patient_id.clone(),
                    accesses: p.accesses,
                    first: p.first,
                    last: p.last,
                    actors: p.actors.iter().cloned().collect::<Vec<_>>().join(", "),
                })
            })
            .collect(),
    })
}

pub async fn view(
    caller: Authorized,
    q: Result<Query<ForensicQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let query = crate::input::query(q)?;
    let ui = Ui::current();
    let searched = [
        &query.from,
        &query.to,
        &query.actor,
        &query.patient,
        &query.tenant,
        &query.actions,
        &query.routes,
        &query.builds,
        &query.outcome,
        &query.after,
        &query.incident,
        &query.reason,
    ]
    .iter()
    .any(|v| v.is_some())
        || query.limit.is_some();
    let result = if searched {
        Some(search(&ui, &caller, &query).await?)
    } else {
        None
    };
    page(&ForensicsPage {
        nav: Nav::of(&caller),
        from: text(&query.from),
        to: text(&query.to),
        actor: text(&query.actor),
        patient: text(&query.patient),
        tenant: text(&query.tenant),
        routes: text(&query.routes),
        incident: text(&query.incident),
        reason: text(&query.reason),
        result,
        ui,
    })
}
