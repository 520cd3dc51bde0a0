//! Finding pages: the patient's list, one finding with its values, PDF
//! download, and the staff's release/retract buttons.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Redirect, Response};
use hippo_core::FindingId;
use hippo_core::finding::FindingStatus;
use hippo_core::policy::{Action, ResourceRef};
use hippo_core::time_util::UnixMillis;
use hippo_store::{Admitted, FindingDetail, FindingSummary};

use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::scope::Scope;
use crate::state::AppState;
use crate::views::{pdf_inline_response, pdf_response};
use crate::web::login::CsrfOnly;
use crate::web::render::{Nav, page};
use crate::web::trends::{TrendView, trend_views};

/// A finding as a row of a list.
pub struct FindingRow {
    pub id: String,
    pub title: String,
    pub facility: String,
    pub status: &'static str,
    /// Released (or, for drafts, created) at: for `ui.date`.
    pub at: UnixMillis,
    pub abnormal_count: i64,
    /// Released and not yet opened by the patient.
    pub is_new: bool,
}

impl From<&FindingSummary> for FindingRow {
    fn from(f: &FindingSummary) -> Self {
        Self {
            id: f.id.to_string(),
            title: f.title.clone(),
            facility: f.tenant_name.clone(),
            status: f.status.as_str(),
            at: f.released_at.unwrap_or(f.created_at),
            abnormal_count: f.abnormal_count,
            is_new: f.is_new,
        }
    }
}

pub struct ObservationRow {
    pub code: String,
    pub display: String,
    /// As written by the lab (a point for decimals): for `ui.decimal`.
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
    /// The patient's own trend per numeric analyte (patients only).
    trends: Vec<TrendView>,
}

pub async fn detail(
    State(state): State<AppState>,
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let id: FindingId = caller.parse_id(&raw).await?;
    let detail: Admitted<FindingDetail> = caller.finding(id).await?;
    // A finding's dates are those of its facility's clock (issue 12).
    crate::i18n::zone::show_dates_in(state.tenant_zone(detail.summary.tenant_id).await);
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
    let ui = Ui::current();
    let trends = match &caller.scope {
        Scope::Patient(patient) => {
            let points = patient.trends(&detail).await?;
            trend_views(&ui, id, &detail.observations, &points)
        }
        _ => Vec::new(),
    };
    page(&FindingPage {
        ui,
        trends,
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

/// `?view=inline` opens the PDF in the browser; otherwise it downloads.
#[derive(serde::Deserialize)]
pub struct PdfView {
    view: Option<String>,
}

pub async fn pdf(
    caller: Authorized,
    Path(raw): Path<String>,
    Query(how): Query<PdfView>,
) -> Result<Response, WebError> {
    let id: FindingId = caller.parse_id(&raw).await?;
    let bytes = caller.finding_pdf(id).await?.into_bytes();
    Ok(match how.view.as_deref() {
        Some("inline") => pdf_inline_response(id, bytes),
        _ => pdf_response(id, bytes),
    })
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
