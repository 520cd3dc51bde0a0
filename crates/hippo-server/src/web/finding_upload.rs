//! The facility's upload form for a finding: title, value rows and the
//! PDF, without JSON and without JavaScript. "Add rows" is a plain submit
//! button that shows the form again with more rows and the input kept; a
//! faulty row shows the form again with each message next to its field.

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hippo_core::PatientId;
use hippo_core::finding::{FindingInput, NewFinding};

use crate::error::{Failure, Refused, WebError};
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::loinc::common_analytes;
use crate::state::AppState;
use crate::upload::{UploadForm, checked_pdf, read_upload};
use crate::value_rows::{MAX_ROWS, ROW_STEP, RowErrors, RowField, TypedRow, validate};
use crate::web::render::{Nav, page};

/// One input of a row: what was typed and, if it is faulty, why.
pub struct FieldView {
    pub text: String,
    pub error: Option<String>,
}

pub struct RowView {
    /// The index in the part names (`row-<index>-…`).
    pub index: usize,
    /// The row's number as people count (from 1), for the labels.
    pub number: usize,
    pub analyte: FieldView,
    pub code: FieldView,
    pub value: FieldView,
    pub unit: FieldView,
    pub low: FieldView,
    pub high: FieldView,
    pub flag: FieldView,
}

/// An entry of the searchable code list (`<datalist>`).
pub struct AnalyteOption {
    pub code: &'static str,
    pub label: String,
}

pub struct FlagOption {
    pub value: &'static str,
    pub label: String,
}

/// What the form template needs, whether blank or shown again.
pub struct UploadFormView {
    pub title: String,
    pub title_error: Option<String>,
    pub rows: Vec<RowView>,
    pub error_count: usize,
    /// Shown again after "add rows" or an error: the browser cannot keep
    /// a chosen file, so the PDF has to be chosen again.
    pub choose_pdf_again: bool,
    pub can_add_rows: bool,
    pub analytes: Vec<AnalyteOption>,
    pub flags: Vec<FlagOption>,
}

impl UploadFormView {
    pub fn blank(ui: &Ui) -> Self {
        Self::of(
            ui,
            "",
            &Default::default(),
            ROW_STEP,
            &RowErrors::new(),
            None,
        )
    }

    fn of(
        ui: &Ui,
        title: &str,
        typed: &std::collections::BTreeMap<usize, TypedRow>,
        count: usize,
        errors: &RowErrors,
        shown_again: Option<TitleCheck>,
    ) -> Self {
        let blank = TypedRow::default();
        let rows = (0..count)
            .map(|index| {
                let row = typed.get(&index).unwrap_or(&blank);
                let field = |field: RowField, text: &str| FieldView {
                    text: text.to_owned(),
                    error: errors.get(&(index, field)).map(|key| ui.t(key)),
                };
                RowView {
                    index,
                    number: index + 1,
                    analyte: field(RowField::Analyte, &row.analyte),
                    code: field(RowField::Code, &row.code),
                    value: field(RowField::Value, &row.value),
                    unit: field(RowField::Unit, &row.unit),
                    low: field(RowField::Low, &row.low),
                    high: field(RowField::High, &row.high),
                    flag: field(RowField::Flag, &row.flag),
                }
            })
            .collect();
        let analytes = common_analytes()
            .iter()
            .map(|a| AnalyteOption {
                code: a.code,
                label: if a.unit.is_empty() {
                    a.name(ui.lang).to_owned()
                } else {
                    format!("{} ({})", a.name(ui.lang), a.unit)
                },
            })
            .collect();
        let flags = [
            ("", "facility-flag-auto"),
            ("N", "facility-flag-normal"),
            ("L", "facility-flag-low"),
            ("H", "facility-flag-high"),
            ("A", "facility-flag-abnormal"),
        ]
        .into_iter()
        .map(|(value, key)| FlagOption {
            value,
            label: ui.t(key),
        })
        .collect();
        let title_error = (shown_again == Some(TitleCheck::Required) && title.trim().is_empty())
            .then(|| ui.t("facility-upload-title-missing"));
        let error_count = errors.len() + usize::from(title_error.is_some());
        Self {
            title: title.to_owned(),
            title_error,
            rows,
            error_count,
            choose_pdf_again: shown_again.is_some(),
            can_add_rows: count < MAX_ROWS,
            analytes,
            flags,
        }
    }
}

/// Whether the form is shown again after an upload attempt (a missing
/// title is a fault) or after "add rows" (it is not, yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TitleCheck {
    Required,
    NotYet,
}

/// The form shown again on a page of its own: after "add rows" or with
/// the faults of the rows. It reads nothing of the patient (no name), so
/// it needs no audited read; the upload itself checks the patient.
#[derive(Template)]
#[template(path = "finding_upload.html")]
struct FindingUploadPage {
    ui: Ui,
    nav: Nav,
    patient_id: String,
    form: UploadFormView,
}

fn rows_shown(form: &UploadForm) -> usize {
    let typed = form.rows.keys().next_back().map_or(0, |last| last + 1);
    let declared = form
        .shown_rows
        .as_deref()
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(ROW_STEP);
    declared.max(typed).clamp(ROW_STEP, MAX_ROWS)
}

pub async fn upload(
    State(state): State<AppState>,
    caller: Authorized,
    Path(raw): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, WebError> {
    let multipart = multipart.map_err(|_| Failure::BadRequest("expected a form upload".into()))?;
    let form = read_upload(multipart, state.config().max_upload_bytes).await?;
    caller.verify_csrf(form.csrf.as_deref().unwrap_or_default())?;
    let id: PatientId = caller.parse_id(&raw).await?;
    let ui = Ui::current();
    let title = form.title.clone().unwrap_or_default();
    let shown = rows_shown(&form);
    let again = |count: usize, errors: &RowErrors, check| FindingUploadPage {
        ui: ui.clone(),
        nav: Nav::of(&caller),
        patient_id: id.to_string(),
        form: UploadFormView::of(&ui, &title, &form.rows, count, errors, Some(check)),
    };
    if form.more_rows.is_some() {
        let more = (shown + ROW_STEP).min(MAX_ROWS);
        return page(&again(more, &RowErrors::new(), TitleCheck::NotYet));
    }
    let checked = validate(&form.rows, ui.lang);
    let observations = match checked {
        Ok(observations) if !title.trim().is_empty() => observations,
        Ok(_) => {
            return refused_again(&again(shown, &RowErrors::new(), TitleCheck::Required));
        }
        Err(errors) => {
            return refused_again(&again(shown, &errors, TitleCheck::Required));
        }
    };
    let finding = NewFinding::parse(FindingInput {
        title: form.title.clone(),
        observations,
    })?;
    let pdf = checked_pdf(form.pdf)?;
    let summary = caller.staff()?.upload_finding(id, &finding, &pdf).await?;
    Ok(Redirect::to(&format!("/findings/{}", summary.id)).into_response())
}

/// The form shown again with its faults: 422, and recorded by the form
/// guard like every refused upload.
fn refused_again(shown_again: &FindingUploadPage) -> Result<Response, WebError> {
    let mut response = page(shown_again)?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    response
        .extensions_mut()
        .insert(Refused("upload_values_invalid"));
    Ok(response)
}
