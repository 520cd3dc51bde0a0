//! Facility pages: patient list, new patient, one patient with findings and
//! the upload form.

use askama::Template;
use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use axum::response::{Redirect, Response};
use hippo_core::PatientId;
use hippo_core::finding::FindingStatus;
use hippo_core::patient::{PatientInput, format_date, parse_birth_date};
use hippo_core::policy::{Action, ResourceRef};
use hippo_core::time_util::UnixMillis;
use hippo_store::{FindingSummary, PatientRecord, PatientSearch};
use serde::Deserialize;

use crate::error::{Failure, WebError};
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::input::parse_new_patient;
use crate::web::finding_upload::UploadFormView;
use crate::web::render::{Nav, page};

pub struct PatientRow {
    pub id: String,
    pub name: String,
    pub birth_date: String,
}

impl From<&PatientRecord> for PatientRow {
    fn from(p: &PatientRecord) -> Self {
        Self {
            id: p.id.to_string(),
            name: format!("{}, {}", p.family_name, p.given_name),
            birth_date: format_date(p.birth_date),
        }
    }
}

#[derive(Template)]
#[template(path = "patients.html")]
struct PatientsPage {
    ui: Ui,
    nav: Nav,
    patients: Vec<PatientRow>,
    /// What was searched for, shown again in the search field.
    query: String,
    previous: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct PatientListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: u32,
}

/// One search field for name, date of birth or patient number: a typed
/// date (`TT.MM.JJJJ` or ISO) searches the date of birth, anything else
/// the name and the number.
fn search_of(query: &PatientListQuery) -> PatientSearch {
    let typed = query.q.trim();
    match birth_date_of(typed) {
        Some(date) => PatientSearch {
            text: String::new(),
            birth_date: date,
            page: query.page,
        },
        None => PatientSearch {
            text: typed.to_owned(),
            birth_date: String::new(),
            page: query.page,
        },
    }
}

fn birth_date_of(typed: &str) -> Option<String> {
    if let Ok(date) = parse_birth_date(typed) {
        return Some(format_date(date));
    }
    let mut parts = typed.split('.');
    let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || year.len() != 4 {
        return None;
    }
    let iso = format!("{year}-{month:0>2}-{day:0>2}");
    parse_birth_date(&iso).ok().map(format_date)
}

fn page_link(q: &str, page: u32) -> String {
    let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
    format!("/patients?q={q}&page={page}")
}

pub async fn list(
    caller: Authorized,
    query: Result<Query<PatientListQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let Query(query) = query.map_err(|e| Failure::Invalid(e.body_text()))?;
    let search = search_of(&query);
    let found = caller.staff()?.search_patients(&search).await?;
    let q = query.q.trim().to_owned();
    page(&PatientsPage {
        ui: Ui::current(),
        nav: Nav::of(&caller),
        patients: found.patients.iter().map(Into::into).collect(),
        previous: (query.page > 0).then(|| page_link(&q, query.page - 1)),
        next: found.has_more.then(|| page_link(&q, query.page + 1)),
        query: q,
    })
}

#[derive(Deserialize)]
pub struct NewPatientForm {
    csrf: String,
    given_name: String,
    family_name: String,
    birth_date: String,
}

pub async fn create(
    caller: Authorized,
    Form(form): Form<NewPatientForm>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let new = parse_new_patient(PatientInput {
        given_name: Some(form.given_name),
        family_name: Some(form.family_name),
        birth_date: Some(form.birth_date),
    })?;
    let record = caller.staff()?.create_patient(&new).await?;
    Ok(Redirect::to(&format!("/patients/{}", record.id)))
}

/// A finding as a row of the staff's patient page: raw time for the
/// template to show in the facility's time zone, status in the reader's language.
pub struct StaffFindingRow {
    pub id: String,
    pub title: String,
    /// The status as a CSS class.
    pub status: &'static str,
    pub status_text: String,
    pub at: UnixMillis,
    pub abnormal_count: i64,
}

impl StaffFindingRow {
    fn of(f: &FindingSummary, ui: &Ui) -> Self {
        Self {
            id: f.id.to_string(),
            title: f.title.clone(),
            status: f.status.as_str(),
            status_text: finding_status_text(f.status, ui),
            at: f.released_at.unwrap_or(f.created_at),
            abnormal_count: f.abnormal_count,
        }
    }
}

fn finding_status_text(status: FindingStatus, ui: &Ui) -> String {
    match status {
        FindingStatus::Draft => ui.t("facility-status-draft"),
        FindingStatus::Released => ui.t("facility-status-released"),
        FindingStatus::Retracted => ui.t("facility-status-retracted"),
    }
}

#[derive(Template)]
#[template(path = "patient.html")]
struct PatientPage {
    ui: Ui,
    nav: Nav,
    patient: PatientRow,
    findings: Vec<StaffFindingRow>,
    can_upload: bool,
    /// Tenant admins see a link to the record's access log.
    can_read_access_log: bool,
    patient_id: String,
    form: UploadFormView,
}

pub async fn detail(caller: Authorized, Path(raw): Path<String>) -> Result<Response, WebError> {
    let id: PatientId = caller.parse_id(&raw).await?;
    let both = caller.staff()?.patient_findings(id).await?;
    let (patient, findings) = &*both;
    let ui = Ui::current();
    let record = ResourceRef::Patient {
        tenant: patient.tenant_id,
        patient: patient.id,
    };
    let findings = findings
        .iter()
        .map(|f| StaffFindingRow::of(f, &ui))
        .collect();
    page(&PatientPage {
        form: UploadFormView::blank(&ui),
        ui,
        nav: Nav::of(&caller),
        patient: patient.into(),
        findings,
        can_upload: caller.may(Action::FindingUpload, &record),
        can_read_access_log: caller.may(Action::PatientAccessLogRead, &record),
        patient_id: patient.id.to_string(),
    })
}
