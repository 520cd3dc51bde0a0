//! Retrieval codes in the browser: the public page where a code holder
//! enters code and date of birth (in the chosen language), its one-time PDF
//! link, and the staff's issue (answered with the printed sheet) and
//! revoke buttons on the finding page.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use hippo_core::{FindingId, RetrievalCodeId};
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::error::{Failure, WebError};
use crate::extract::{Authorized, RequestMeta};
use crate::i18n::Ui;
use crate::retrieval;
use crate::retrieval_texts as texts;
use crate::state::AppState;
use crate::views::pdf_response;
use crate::web::findings::{FindingRow, ObservationRow};
use crate::web::login::{
    CsrfOnly, session_less_form_answer, session_less_form_csrf_ok, session_less_form_token,
};
use crate::web::render::page;

#[derive(Template)]
#[template(path = "retrieve.html")]
struct RetrievePage {
    ui: Ui,
    csrf: String,
    code: String,
    /// The refusal's message key: one per kind, so that answers which must
    /// not differ render the same bytes.
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "retrieved.html")]
struct RetrievedPage {
    ui: Ui,
    finding: FindingRow,
    observations: Vec<ObservationRow>,
    pdf_url: String,
}

/// The form, with a fresh CSRF token (no session here).
fn form_page(
    state: &AppState,
    jar: CookieJar,
    code: String,
    error: Option<Failure>,
) -> Result<Response, WebError> {
    let (jar, csrf) = session_less_form_token(state, jar);
    let body = page(&RetrievePage {
        ui: Ui::current(),
        csrf,
        code,
        error: error.as_ref().map(failure_text),
    })?;
    Ok(session_less_form_answer(jar, body, error.as_ref()))
}

/// The message key of a failure shown on the form.
fn failure_text(failure: &Failure) -> &'static str {
    match failure {
        Failure::RetrievalRefused(refusal) => texts::refusal(*refusal),
        Failure::RetrievalCodeMalformed(hippo_core::retrieval::CodeError::Typo) => texts::TYPO,
        Failure::RetrievalCodeMalformed(_) => texts::MALFORMED_CODE,
        Failure::Invalid(_) => texts::MALFORMED_BIRTH_DATE,
        Failure::RateLimited => texts::RATE_LIMITED,
        Failure::CsrfMismatch => texts::FORM_EXPIRED,
        _ => texts::UNAVAILABLE,
    }
}

#[derive(Deserialize)]
pub struct RetrieveQuery {
    /// Filled in from the sheet's QR code.
    code: Option<String>,
}

pub async fn form(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<RetrieveQuery>,
) -> Result<Response, WebError> {
    // The form itself is public; with the service of what it submits to
    // off everywhere the holder sees the maintenance page before typing.
    if let Some(outage) = state
        .switches()
        .snapshot()
        .everywhere(hippo_core::policy::Action::RetrievalRedeem.services())
    {
        return Err(WebError(Failure::ServiceOff(outage.clone())));
    }
    let code: String = query.code.unwrap_or_default().chars().take(40).collect();
    form_page(&state, jar, code, None)
}

#[derive(Deserialize)]
pub struct RetrieveForm {
    csrf: String,
    code: String,
    date_of_birth: String,
}

/// `TT.MM.JJJJ` as Germans type it, or the ISO date a date field sends.
fn iso_birth_date(typed: &str) -> String {
    let typed = typed.trim();
    let parts: Vec<&str> = typed.split('.').collect();
    match parts.as_slice() {
        [d, m, y] if y.len() == 4 && d.len() <= 2 && m.len() <= 2 => {
            format!("{y}-{m:0>2}-{d:0>2}")
        }
        _ => typed.to_owned(),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    meta: RequestMeta,
    jar: CookieJar,
    Form(form): Form<RetrieveForm>,
) -> Result<Response, WebError> {
    if !session_less_form_csrf_ok(&jar, &form.csrf) {
        return form_page(&state, jar, form.code, Some(Failure::CsrfMismatch));
    }
    let birth_date = iso_birth_date(&form.date_of_birth);
    let retrieved = match retrieval::retrieve(&state, &meta, &form.code, &birth_date).await {
        Ok(r) => r,
        Err(failure) if failure.status().is_client_error() => {
            return form_page(&state, jar, form.code, Some(failure));
        }
        Err(failure) => return Err(WebError(failure)),
    };
    let detail = &*retrieved.finding;
    page(&RetrievedPage {
        ui: Ui::current(),
        finding: (&detail.summary).into(),
        observations: detail.observations.iter().map(ObservationRow::of).collect(),
        pdf_url: format!("/retrieve/pdf/{}", retrieved.pdf_token.expose_secret()),
    })
}

pub async fn pdf(
    State(state): State<AppState>,
    meta: RequestMeta,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let pdf = retrieval::pdf(&state, &meta, &token).await?;
    let id = pdf.summary.id;
    Ok(pdf_response(id, pdf.into_bytes()))
}

#[derive(Deserialize)]
pub struct IssueForm {
    csrf: String,
    valid_days: Option<String>,
}

/// Issue a code and answer with its printed sheet: the only time the code
/// can be printed, since only its hash is kept.
pub async fn issue(
    State(state): State<AppState>,
    caller: Authorized,
    Path(raw): Path<String>,
    headers: HeaderMap,
    Form(form): Form<IssueForm>,
) -> Result<Response, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let id: FindingId = caller.parse_id(&raw).await?;
    let days = match form.valid_days.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(d.parse::<u32>().map_err(|_| {
            Failure::Invalid(format!(
                "valid_days: a whole number from 1 to {}",
                retrieval::MAX_VALIDITY_DAYS
            ))
        })?),
    };
    let issued = retrieval::issue(&state, &caller, id, days).await?;
    let bytes = retrieval::sheet(&state, &headers, &issued)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"retrieval-code-{}.pdf\"",
                    issued.record.id
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}

pub async fn revoke(
    caller: Authorized,
    Path(raw): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let id: RetrievalCodeId = caller.parse_id(&raw).await?;
    let record = caller.staff()?.revoke_retrieval_code(id).await?;
    Ok(Redirect::to(&format!("/findings/{}", record.finding_id)))
}
