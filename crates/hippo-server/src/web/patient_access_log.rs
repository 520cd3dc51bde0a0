//! The facility's page of one patient record's access log (tenant admins):
//! who looked at or changed the record's data, grouped like the patient's
//! own history so that list views do not drown single reads.

use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use hippo_core::PatientId;
use hippo_core::time_util::UnixMillis;
use hippo_store::AccessEntry;

use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::views::HISTORY_LIMIT;
use crate::web::access_groups::group;
use crate::web::patients::PatientRow;
use crate::web::render::{Nav, page};

pub struct LogLine {
    pub at: UnixMillis,
    /// Set when the line stands for several records: the oldest's time.
    pub since: Option<UnixMillis>,
    pub count: usize,
    pub who: String,
    pub what: String,
    pub refused: bool,
}

/// The message key describing an action to the facility.
fn describe(action: &str) -> &'static str {
    match action {
        "finding_read" => "facility-access-what-finding-read",
        "finding_pdf_download" => "facility-access-what-pdf-download",
        "own_findings_list" | "patient_findings_list" => "facility-access-what-findings-list",
        "patient_read" => "facility-access-what-record-read",
        "patient_create" => "facility-access-what-record-create",
        "finding_upload" => "facility-access-what-finding-upload",
        "finding_release" => "facility-access-what-finding-release",
        "finding_retract" => "facility-access-what-finding-retract",
        "retrieval_code_issue" | "retrieval_code_revoke" | "retrieval_code_list" => {
            "facility-access-what-codes"
        }
        "retrieval_redeem" | "retrieval_pdf_download" => "facility-access-what-code-redeem",
        "thread_list"
        | "thread_create"
        | "thread_read"
        | "message_post"
        | "thread_assign"
        | "thread_close"
        | "thread_retract"
        | "attachment_download" => "facility-access-what-messages",
        "access_log_read" | "access_proof_read" => "facility-access-what-own-history",
        "patient_access_log_read" => "facility-access-what-access-log",
        _ => "facility-access-what-other",
    }
}

fn role(kind: &str) -> &'static str {
    match kind {
        "clinician" => "facility-access-role-clinician",
        "assistant" => "facility-access-role-assistant",
        "tenant_admin" => "facility-access-role-tenant-admin",
        "lab_system" | "api_key" => "facility-access-role-lab-system",
        "code_holder" => "facility-access-role-code-holder",
        _ => "facility-access-role-other",
    }
}

fn who(ui: &Ui, e: &AccessEntry) -> String {
    if e.by_self {
        return ui.t("facility-access-the-patient");
    }
    let role = ui.t(role(&e.actor_kind));
    match &e.staff_name {
        Some(name) => format!("{name} ({role})"),
        None => role,
    }
}

#[derive(Template)]
#[template(path = "patient_access_log.html")]
struct PatientAccessLogPage {
    ui: Ui,
    nav: Nav,
    patient: PatientRow,
    lines: Vec<LogLine>,
}

pub async fn show(caller: Authorized, Path(raw): Path<String>) -> Result<Response, WebError> {
    let id: PatientId = caller.parse_id(&raw).await?;
    let log = caller
        .staff()?
        .patient_access_log(id, HISTORY_LIMIT)
        .await?;
    let (patient, entries) = &*log;
    let ui = Ui::current();
    let lines = group(entries.iter(), |at| ui.date(&at))
        .into_iter()
        .map(|line| LogLine {
            at: line.newest.at,
            since: (line.count > 1).then_some(line.oldest_at),
            count: line.count,
            who: who(&ui, line.newest),
            what: ui.t(describe(&line.newest.action)),
            refused: line.newest.outcome != "success",
        })
        .collect();
    page(&PatientAccessLogPage {
        nav: Nav::of(&caller),
        patient: patient.into(),
        lines,
        ui,
    })
}
