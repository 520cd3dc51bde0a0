//! `/account/security`: one's own second factors. Everyone sees what is
//! on and renews their recovery codes; patients turn TOTP on and off.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::auth::account_security::{self, SecurityStatus};
use crate::auth::enrolment::{TotpOffer, current_offer};
use crate::error::{Failure, WebError};
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::state::AppState;
use crate::web::login::CsrfOnly;
use crate::web::recovery_codes::recovery_codes_page;
use crate::web::render::{Nav, page};

#[derive(Template)]
#[template(path = "account_security.html")]
struct SecurityPage {
    ui: Ui,
    nav: Nav,
    csrf: String,
    status: SecurityStatus,
    is_patient: bool,
    /// A seed being set up (after "turn on").
    offer: Option<TotpOffer>,
    error: Option<String>,
}

async fn security_page(
    state: &AppState,
    caller: &Authorized,
    offer: Option<TotpOffer>,
    error: Option<&Failure>,
) -> Result<Response, WebError> {
    let status = account_security::status(state, caller).await?;
    let ui = Ui::current();
    let error_text = error.map(|f| match f {
        Failure::Invalid(_) => ui.t("account-code-wrong"),
        Failure::RateLimited => ui.t("error-rate_limited"),
        Failure::Conflict(_) => ui.t("account-security-conflict"),
        other => other.localized(crate::i18n::Lang::current()),
    });
    let body = page(&SecurityPage {
        ui,
        nav: Nav::of(caller),
        csrf: caller.csrf_token(),
        status,
        is_patient: !status.factor_mandatory,
        offer,
        error: error_text,
    })?;
    let code = error.map_or(axum::http::StatusCode::OK, Failure::status);
    Ok((code, body).into_response())
}

pub async fn view(State(state): State<AppState>, caller: Authorized) -> Result<Response, WebError> {
    security_page(&state, &caller, None, None).await
}

pub async fn totp_start(
    State(state): State<AppState>,
    caller: Authorized,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let title = Ui::current().t("account-enrol-qr-title");
    match account_security::start_totp(&state, &caller, &title).await {
        Ok(offer) => security_page(&state, &caller, Some(offer), None).await,
        Err(failure @ Failure::Conflict(_)) => {
            security_page(&state, &caller, None, Some(&failure)).await
        }
        Err(other) => Err(WebError(other)),
    }
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    code: SecretString,
    csrf: String,
}

/// Failures a person can fix on the page itself.
fn shown_on_page(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::Invalid(_) | Failure::RateLimited | Failure::Conflict(_) | Failure::BadRequest(_)
    )
}

pub async fn totp_finish(
    State(state): State<AppState>,
    caller: Authorized,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    caller.verify_csrf(&form.csrf)?;
    match account_security::finish_totp(&state, &caller, form.code.expose_secret()).await {
        Ok(enrolled) => recovery_codes_page(Some(Nav::of(&caller)), enrolled.recovery_codes),
        Err(failure) if shown_on_page(&failure) => {
            // The same seed again, so that the app set up from it fits.
            let title = Ui::current().t("account-enrol-qr-title");
            let offer = match hippo_store::LoginSubject::of(&caller.principal) {
                Some(subject) => {
                    current_offer(&state, subject, caller.principal.display_name(), &title).await?
                }
                None => None,
            };
            security_page(&state, &caller, offer, Some(&failure)).await
        }
        Err(other) => Err(WebError(other)),
    }
}

pub async fn totp_remove(
    State(state): State<AppState>,
    caller: Authorized,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    caller.verify_csrf(&form.csrf)?;
    match account_security::remove_totp(&state, &caller, form.code.expose_secret()).await {
        Ok(()) => Ok(Redirect::to("/account/security").into_response()),
        Err(failure) if shown_on_page(&failure) => {
            security_page(&state, &caller, None, Some(&failure)).await
        }
        Err(other) => Err(WebError(other)),
    }
}

pub async fn recovery_codes(
    State(state): State<AppState>,
    caller: Authorized,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    caller.verify_csrf(&form.csrf)?;
    match account_security::renew_recovery_codes(&state, &caller, form.code.expose_secret()).await {
        Ok(codes) => recovery_codes_page(Some(Nav::of(&caller)), codes),
        Err(failure) if shown_on_page(&failure) => {
            security_page(&state, &caller, None, Some(&failure)).await
        }
        Err(other) => Err(WebError(other)),
    }
}
