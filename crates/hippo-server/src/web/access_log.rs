//! The patient's access history page.

use askama::Template;
use axum::Json;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use hippo_core::time_util::human;

use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::views::{HISTORY_LIMIT, proof_view};
use crate::web::render::{Nav, page};

pub struct AccessRow {
    pub id: String,
    pub when: String,
    pub facility: String,
    pub who: String,
    pub what: String,
    pub refused: bool,
}

fn describe(action: &str) -> &'static str {
    match action {
        "finding_read" => "viewed a finding",
        "finding_pdf_download" => "downloaded a report PDF",
        "own_findings_list" | "patient_findings_list" => "listed findings",
        "patient_read" => "opened your record",
        "patient_create" => "created your record",
        "finding_upload" => "uploaded a finding",
        "finding_release" => "released a finding to you",
        "finding_retract" => "retracted a finding",
        "retrieval_code_issue" => "issued a retrieval code for a finding",
        "retrieval_code_revoke" => "revoked a retrieval code",
        "retrieval_code_list" => "listed retrieval codes",
        "retrieval_redeem" => "used a retrieval code to view a finding",
        "retrieval_pdf_download" => "used a retrieval code to download a report PDF",
        _ => "other access",
    }
}

#[derive(Template)]
#[template(path = "access_log.html")]
struct AccessLogPage {
    ui: Ui,
    nav: Nav,
    entries: Vec<AccessRow>,
}

pub async fn list(caller: Authorized) -> Result<Response, WebError> {
    let entries = caller.patient()?.access_history(HISTORY_LIMIT).await?;
    page(&AccessLogPage {
        ui: Ui::current(),
        nav: Nav::of(&caller),
        entries: entries
            .iter()
            .map(|e| AccessRow {
                id: e.id.clone(),
                when: human(e.at),
                facility: e.facility.clone(),
                who: if e.by_self {
                    "You".into()
                } else {
                    let role = e.actor_kind.replace('_', " ");
                    match &e.staff_name {
                        Some(name) => format!("{name} ({role})"),
                        None => role,
                    }
                },
                what: describe(&e.action).into(),
                refused: e.outcome != "success",
            })
            .collect(),
    })
}

/// The proof as JSON, for download from the history page.
pub async fn proof(caller: Authorized, Path(raw): Path<String>) -> Result<Response, WebError> {
    let id: hippo_core::AuditRecordId = caller.parse_id(&raw).await?;
    let proof = caller.patient()?.access_proof(&id.to_string()).await?;
    Ok(Json(proof_view(&id.to_string(), &proof)).into_response())
}
