//! The patient's access history page.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use hippo_core::time_util::UnixMillis;
use hippo_store::AccessEntry;

use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::views::{HISTORY_LIMIT, proof_view};
use crate::web::access_groups::group;
use crate::web::render::{Nav, page};

pub struct AccessRow {
    pub id: String,
    pub at: UnixMillis,
    /// Set when the line stands for several records: the oldest's time.
    pub since: Option<UnixMillis>,
    pub count: usize,
    pub facility: String,
    pub who: String,
    pub what: String,
    pub refused: bool,
}

/// The message key describing an action to the patient.
fn describe(action: &str) -> &'static str {
    match action {
        "finding_read" => "patient-access-what-finding-read",
        "finding_pdf_download" => "patient-access-what-pdf-download",
        "own_findings_list" | "patient_findings_list" => "patient-access-what-findings-list",
        "patient_read" => "patient-access-what-record-read",
        "patient_create" => "patient-access-what-record-create",
        "finding_upload" => "patient-access-what-finding-upload",
        "finding_release" => "patient-access-what-finding-release",
        "finding_retract" => "patient-access-what-finding-retract",
        "retrieval_code_issue" => "patient-access-what-code-issue",
        "retrieval_code_revoke" => "patient-access-what-code-revoke",
        "retrieval_code_list" => "patient-access-what-code-list",
        "retrieval_redeem" => "patient-access-what-code-redeem",
        "retrieval_pdf_download" => "patient-access-what-code-pdf",
        "patient_access_log_read" => "patient-access-what-access-log-read",
        _ => "patient-access-what-other",
    }
}

/// The message key naming an actor's role.
fn role(kind: &str) -> &'static str {
    match kind {
        "clinician" => "patient-access-role-clinician",
        "assistant" => "patient-access-role-assistant",
        "tenant_admin" => "patient-access-role-tenant-admin",
        "lab_system" | "api_key" => "patient-access-role-lab-system",
        "operator" => "patient-access-role-operator",
        "code_holder" => "patient-access-role-code-holder",
        _ => "patient-access-role-other",
    }
}

fn who(ui: &Ui, e: &AccessEntry) -> String {
    if e.by_self {
        return ui.t("patient-access-you");
    }
    let role = ui.t(role(&e.actor_kind));
    match &e.staff_name {
        Some(name) => format!("{name} ({role})"),
        None => role,
    }
}

/// `?facility=<name>` narrows the history to one facility.
#[derive(serde::Deserialize)]
pub struct HistoryFilter {
    facility: Option<String>,
}

pub struct FacilityOption {
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "access_log.html")]
struct AccessLogPage {
    ui: Ui,
    nav: Nav,
    entries: Vec<AccessRow>,
    facilities: Vec<FacilityOption>,
    filtered: bool,
}

pub async fn list(
    caller: Authorized,
    Query(filter): Query<HistoryFilter>,
) -> Result<Response, WebError> {
    let entries = caller.patient()?.access_history(HISTORY_LIMIT).await?;
    let ui = Ui::current();
    let chosen = filter.facility.filter(|f| !f.is_empty());
    let mut names: Vec<&str> = entries.iter().map(|e| e.facility.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let facilities = names
        .into_iter()
        .map(|name| FacilityOption {
            name: name.to_owned(),
            selected: chosen.as_deref() == Some(name),
        })
        .collect();
    let shown = entries
        .iter()
        .filter(|e| chosen.as_deref().is_none_or(|f| f == e.facility));
    let rows = group(shown, |at| ui.date(&at))
        .into_iter()
        .map(|line| {
            let e = line.newest;
            AccessRow {
                id: e.id.clone(),
                at: e.at,
                since: (line.count > 1).then_some(line.oldest_at),
                count: line.count,
                facility: e.facility.clone(),
                who: who(&ui, e),
                what: ui.t(describe(&e.action)),
                refused: e.outcome != "success",
            }
        })
        .collect();
    page(&AccessLogPage {
        ui,
        nav: Nav::of(&caller),
        entries: rows,
        facilities,
        filtered: chosen.is_some(),
    })
}

/// The proof as JSON, for download from the history page.
pub async fn proof(caller: Authorized, Path(raw): Path<String>) -> Result<Response, WebError> {
    let id: hippo_core::AuditRecordId = caller.parse_id(&raw).await?;
    let proof = caller.patient()?.access_proof(&id.to_string()).await?;
    Ok(Json(proof_view(&id.to_string(), &proof)).into_response())
}
