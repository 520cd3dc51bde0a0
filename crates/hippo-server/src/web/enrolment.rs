//! `/login/enrol`: staff and operators without a second factor set up
//! TOTP before they get a session. The pending login travels in the
//! HttpOnly cookie of the password step; the seed stays on the server.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use hippo_store::{PendingPurpose, SessionSurface};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::auth::device::DeviceKey;
use crate::auth::enrolment::{
    TotpOffer, finish_login_enrolment, pending_offer, start_login_enrolment,
};
use crate::auth::second_factor::is_pending_for;
use crate::auth::token::PENDING_LOGIN_COOKIE;
use crate::error::{Failure, WebError};
use crate::extract::RequestMeta;
use crate::i18n::Ui;
use crate::state::AppState;
use crate::web::login::{
    browser_device, session_less_form_answer, session_less_form_csrf_ok, session_less_form_token,
    signed_in_jar,
};
use crate::web::recovery_codes::recovery_codes_page;
use crate::web::render::page;

#[derive(Template)]
#[template(path = "login_enrol.html")]
struct EnrolPage {
    ui: Ui,
    csrf: String,
    offer: TotpOffer,
    error: Option<String>,
}

fn enrol_page(
    state: &AppState,
    jar: CookieJar,
    offer: TotpOffer,
    error: Option<(Failure, &str)>,
) -> Result<Response, WebError> {
    let (jar, csrf) = session_less_form_token(state, jar);
    let ui = Ui::current();
    let body = page(&EnrolPage {
        error: error.as_ref().map(|(_, key)| ui.t(key)),
        ui,
        csrf,
        offer,
    })?;
    Ok(session_less_form_answer(
        jar,
        body,
        error.as_ref().map(|(f, _)| f),
    ))
}

fn pending_token(jar: &CookieJar) -> Option<SecretString> {
    jar.get(PENDING_LOGIN_COOKIE)
        .map(|c| SecretString::from(c.value().to_owned()))
}

/// A fresh seed for every visit; without a live enrolment login, back to
/// the password.
pub async fn form(
    State(state): State<AppState>,
    meta: RequestMeta,
    jar: CookieJar,
) -> Result<Response, WebError> {
    let Some(token) = pending_token(&jar) else {
        return Ok(Redirect::to("/login").into_response());
    };
    if !is_pending_for(&state, &token, PendingPurpose::Enrolment).await? {
        return Ok(Redirect::to("/login").into_response());
    }
    let title = Ui::current().t("account-enrol-qr-title");
    let offer = start_login_enrolment(&state, token.expose_secret(), &title, &meta.origin).await?;
    enrol_page(&state, jar, offer, None)
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    code: SecretString,
    csrf: String,
}

pub async fn submit(
    State(state): State<AppState>,
    meta: RequestMeta,
    jar: CookieJar,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    let Some(token) = pending_token(&jar) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let title = Ui::current().t("account-enrol-qr-title");
    if !session_less_form_csrf_ok(&jar, &form.csrf) {
        return match pending_offer(&state, token.expose_secret(), &title).await? {
            Some(offer) => enrol_page(
                &state,
                jar,
                offer,
                Some((Failure::CsrfMismatch, "error-csrf_mismatch")),
            ),
            None => Ok(Redirect::to("/login").into_response()),
        };
    }
    let (jar, device) = browser_device(&state, jar);
    match finish_login_enrolment(
        &state,
        token.expose_secret(),
        form.code.expose_secret(),
        SessionSurface::Web,
        &meta.origin,
        &DeviceKey::Browser(&device),
    )
    .await
    {
        Ok((success, enrolled)) => {
            let jar = signed_in_jar(&state, jar, success);
            let body = recovery_codes_page(None, enrolled.recovery_codes)?;
            Ok((jar, body).into_response())
        }
        Err(
            failure @ (Failure::InvalidCredentials | Failure::BadRequest(_) | Failure::RateLimited),
        ) => {
            let key = if matches!(failure, Failure::RateLimited) {
                "error-rate_limited"
            } else {
                "account-enrol-wrong"
            };
            // The same seed again, so that the app set up from it fits.
            match pending_offer(&state, token.expose_secret(), &title).await? {
                Some(offer) => enrol_page(&state, jar, offer, Some((failure, key))),
                None => Ok(Redirect::to("/login").into_response()),
            }
        }
        Err(other) => Err(WebError(other)),
    }
}
