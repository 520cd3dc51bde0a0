//! Finding pages: the patient's list, one finding with its values, PDF
//! download, and the staff's release/retract buttons.

use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::response::{Redirect, Response};
use hippo_core::FindingId;
use hippo_core::finding::FindingStatus;
use hippo_core::policy::{Action, ResourceRef};
use hippo_core::time_util::human;
use hippo_store::{Admitted, FindingDetail, FindingSummary};

use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::scope::Scope;
use crate::views::pdf_response;
use crate::web::login::CsrfOnly;
use crate::web::render::{Nav, page};

/// A finding as a row of a list.
pub struct FindingRow {
    pub id: String,
    pub title: String,
    pub facility: String,
    pub status: &'static str,
    pub date: String,
    pub abnormal_count: i64,
}

impl From<&FindingSummary> for FindingRow {
    fn from(f: &FindingSummary) -> Self {
        Self {
            id: f.id.to_string(),
            title: f.title.clone(),
            facility: f.tenant_name.clone(),
            status: f.status.as_str(),
            date: human(f.released_at.unwrap_or(f.created_at)),
            abnormal_count: f.abnormal_count,
        }
    }
}

pub struct ObservationRow {
    pub code: String,
    pub display: String,
    pub value: String,
    pub unit: String,
    pub range: String,
    pub flag: &'static str,
    pub abnormal: bool,
}

impl ObservationRow {
    pub fn of(o: &hippo_core::finding::Observation) -> Self {
        Self {
            code: o.code.clone(),
            display: o.display.clone(),
            value: o.value.display(),
            unit: o.unit.clone().unwrap_or_default(),
            range: o.reference_range().unwrap_or_default(),
            flag: o.flag.as_str(),
            abnormal: o.flag.is_abnormal(),
        }
    }
}

#[derive(Template)]
#[template(path = "findings.html")]
struct OwnFindingsPage {
    ui: Ui,
    nav: Nav,
    findings: Vec<FindingRow>,
}

pub async fn list_own(caller: Authorized) -> Result<Response, WebError> {
    let findings = caller.patient()?.findings().await?;
    page(&OwnFindingsPage {
        ui: Ui::current(),
        nav: Nav::of(&caller),
        findings: findings.iter().map(Into::into).collect(),
    })
}

#[derive(Template)]
#[template(path = "finding.html")]
struct FindingPage {
    ui: Ui,
    nav: Nav,
    finding: FindingRow,
    patient_id: String,
    observations: Vec<ObservationRow>,
    staff_view: bool,
    can_release: bool,
    can_retract: bool,
    /// Retrieval codes (staff who may issue them); `None` hides the section.
    retrieval_codes: Option<Vec<crate::web::code_rows::CodeRow>>,
    can_issue_code: bool,
}

pub async fn detail(caller: Authorized, Path(raw): Path<String>) -> Result<Response, WebError> {
    let id: FindingId = caller.parse_id(&raw).await?;
    let detail: Admitted<FindingDetail> = caller.finding(id).await?;
    let status = detail.summary.status;
    let resource = ResourceRef::Finding {
        tenant: detail.summary.tenant_id,
        patient: detail.summary.patient_id,
        finding: id,
        status,
    };
    let retrieval_codes = match &caller.scope {
        Scope::Staff(staff) if caller.may(Action::RetrievalCodeList, &resource) => Some(
            staff
                .retrieval_codes(id)
                .await?
                .iter()
                .map(Into::into)
                .collect(),
        ),
        _ => None,
    };
    page(&FindingPage {
        ui: Ui::current(),
        nav: Nav::of(&caller),
        retrieval_codes,
        can_issue_code: status == FindingStatus::Released
            && caller.may(Action::RetrievalCodeIssue, &resource),
        finding: (&detail.summary).into(),
        patient_id: detail.summary.patient_id.to_string(),
        observations: detail.observations.iter().map(ObservationRow::of).collect(),
        staff_view: matches!(caller.scope, Scope::Staff(_)),
        can_release: status == FindingStatus::Draft
            && caller.may(Action::FindingRelease, &resource),
        can_retract: status == FindingStatus::Released
            && caller.may(Action::FindingRetract, &resource),
    })
}

pub async fn pdf(caller: Authorized, Path(raw): Path<String>) -> Result<Response, WebError> {
    let id: FindingId = caller.parse_id(&raw).await?;
    let bytes = caller.finding_pdf(id).await?.into_bytes();
    Ok(pdf_response(id, bytes))
}

pub async fn release(
    caller: Authorized,
    Path(raw): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let id: FindingId = caller.parse_id(&raw).await?;
    caller.staff()?.release(id).await?;
    Ok(Redirect::to(&format!("/findings/{id}")))
}

pub async fn retract(
    caller: Authorized,
    Path(raw): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let id: FindingId = caller.parse_id(&raw).await?;
    caller.staff()?.retract(id).await?;
    Ok(Redirect::to(&format!("/findings/{id}")))
}
