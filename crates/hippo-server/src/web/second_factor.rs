//! The login's second step in the browser: `/login/second-factor`. The
//! pending-login token travels in an HttpOnly cookie set by the password
//! step; the form is protected by the login's CSRF token (HMAC of the
//! cookie's nonce).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use hippo_store::SessionSurface;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::auth::device::DeviceKey;
use crate::auth::second_factor::{complete, is_pending};
use crate::auth::token::PENDING_LOGIN_COOKIE;
use crate::error::{Failure, WebError};
use crate::extract::RequestMeta;
use crate::i18n::Ui;
use crate::state::AppState;
use crate::web::login::{
    browser_device, session_less_form_answer, session_less_form_csrf_ok, session_less_form_token,
    signed_in,
};
use crate::web::render::page;

#[derive(Template)]
#[template(path = "login_second_factor.html")]
struct SecondFactorPage {
    ui: Ui,
    csrf: String,
    error: Option<String>,
}

fn second_factor_page(
    state: &AppState,
    jar: CookieJar,
    error: Option<(Failure, &str)>,
) -> Result<Response, WebError> {
    let (jar, csrf) = session_less_form_token(state, jar);
    let ui = Ui::current();
    let body = page(&SecondFactorPage {
        error: error.as_ref().map(|(_, key)| ui.t(key)),
        ui,
        csrf,
    })?;
    Ok(session_less_form_answer(
        jar,
        body,
        error.as_ref().map(|(failure, _)| failure),
    ))
}

fn pending_token(jar: &CookieJar) -> Option<SecretString> {
    jar.get(PENDING_LOGIN_COOKIE)
        .map(|c| SecretString::from(c.value().to_owned()))
}

pub async fn form(State(state): State<AppState>, jar: CookieJar) -> Result<Response, WebError> {
    match pending_token(&jar) {
        Some(token) if is_pending(&state, &token).await? => second_factor_page(&state, jar, None),
        _ => Ok(Redirect::to("/login").into_response()),
    }
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
    if !session_less_form_csrf_ok(&jar, &form.csrf) {
        return second_factor_page(
            &state,
            jar,
            Some((Failure::CsrfMismatch, "error-csrf_mismatch")),
        );
    }
    let Some(token) = pending_token(&jar) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let (jar, device) = browser_device(&state, jar);
    match complete(
        &state,
        token.expose_secret(),
        form.code.expose_secret(),
        SessionSurface::Web,
        &meta.origin,
        meta.client_ip,
        &DeviceKey::Browser(&device),
    )
    .await
    {
        Ok(success) => Ok(signed_in(&state, jar, success)),
        Err(failure @ Failure::RateLimited) => {
            second_factor_page(&state, jar, Some((failure, "error-rate_limited")))
        }
        Err(failure @ (Failure::InvalidCredentials | Failure::BadRequest(_))) => {
            if is_pending(&state, &token).await? {
                second_factor_page(&state, jar, Some((failure, "account-second-factor-wrong")))
            } else {
                // Too many wrong codes or expired: back to the password.
                Ok(Redirect::to("/login").into_response())
            }
        }
        Err(other) => Err(WebError(other)),
    }
}
