//! The password reset forms (issue 12): `/password/forgot` asks for the
//! e-mail address and always says the same; `/password/reset?token=`
//! takes the new password twice. Both are session-less forms with the
//! login's CSRF token. The token stays out of the page's links: the form
//! posts it in its body, and `Referrer-Policy: no-referrer` keeps the
//! address with it from leaving.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::auth::password_reset;
use crate::error::{Failure, WebError};
use crate::extract::RequestMeta;
use crate::i18n::{Lang, Ui};
use crate::state::AppState;
use crate::web::login::{
    session_less_form_answer, session_less_form_csrf_ok, session_less_form_token,
};
use crate::web::render::page;

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    ui: Ui,
    csrf: String,
    sent: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetPage {
    ui: Ui,
    csrf: String,
    token: String,
    done: bool,
    error: Option<String>,
}

fn forgot_page(
    state: &AppState,
    jar: CookieJar,
    sent: bool,
    error: Option<Failure>,
) -> Result<Response, WebError> {
    let (jar, csrf) = session_less_form_token(state, jar);
    let ui = Ui::current();
    let body = page(&ForgotPage {
        error: error.as_ref().map(|f| f.localized(ui.lang)),
        ui,
        csrf,
        sent,
    })?;
    Ok(session_less_form_answer(jar, body, error.as_ref()))
}

pub async fn forgot_form(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, WebError> {
    forgot_page(&state, jar, false, None)
}

#[derive(Debug, Deserialize)]
pub struct ForgotForm {
    email: String,
    csrf: String,
}

pub async fn forgot_submit(
    State(state): State<AppState>,
    meta: RequestMeta,
    jar: CookieJar,
    Form(form): Form<ForgotForm>,
) -> Result<Response, WebError> {
    if !session_less_form_csrf_ok(&jar, &form.csrf) {
        return forgot_page(&state, jar, false, Some(Failure::CsrfMismatch));
    }
    match password_reset::request(
        &state,
        &form.email,
        &meta.origin,
        meta.client_ip,
        Lang::current(),
    )
    .await
    {
        Ok(()) => forgot_page(&state, jar, true, None),
        Err(failure @ (Failure::RateLimited | Failure::BadRequest(_))) => {
            forgot_page(&state, jar, false, Some(failure))
        }
        Err(other) => Err(WebError(other)),
    }
}

fn reset_page(
    state: &AppState,
    jar: CookieJar,
    token: String,
    done: bool,
    error: Option<(Failure, String)>,
) -> Result<Response, WebError> {
    let (jar, csrf) = session_less_form_token(state, jar);
    let body = page(&ResetPage {
        ui: Ui::current(),
        csrf,
        token,
        done,
        error: error.as_ref().map(|(_, text)| text.clone()),
    })?;
    Ok(session_less_form_answer(
        jar,
        body,
        error.as_ref().map(|(f, _)| f),
    ))
}

#[derive(Deserialize)]
pub struct ResetQuery {
    token: Option<String>,
}

pub async fn reset_form(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<ResetQuery>,
) -> Result<Response, WebError> {
    let token: String = query.token.unwrap_or_default().chars().take(64).collect();
    reset_page(&state, jar, token, false, None)
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    token: String,
    password: SecretString,
    repeat: SecretString,
    csrf: String,
}

pub async fn reset_submit(
    State(state): State<AppState>,
    meta: RequestMeta,
    jar: CookieJar,
    Form(form): Form<ResetForm>,
) -> Result<Response, WebError> {
    let ui = Ui::current();
    let token: String = form.token.chars().take(64).collect();
    if !session_less_form_csrf_ok(&jar, &form.csrf) {
        let text = ui.t("error-csrf_mismatch");
        return reset_page(
            &state,
            jar,
            token,
            false,
            Some((Failure::CsrfMismatch, text)),
        );
    }
    if form.password.expose_secret() != form.repeat.expose_secret() {
        let failure = Failure::Invalid("the passwords differ".into());
        return reset_page(
            &state,
            jar,
            token,
            false,
            Some((failure, ui.t("password-reset-differ"))),
        );
    }
    match password_reset::confirm(&state, &token, form.password.expose_secret(), &meta.origin).await
    {
        Ok(()) => reset_page(&state, jar, String::new(), true, None),
        Err(failure @ Failure::Invalid(_)) => {
            let text = ui.t1(
                "password-reset-too-short",
                "min",
                password_reset::MIN_PASSWORD_CHARS,
            );
            reset_page(&state, jar, token, false, Some((failure, text)))
        }
        Err(failure @ Failure::InvalidResetToken) => {
            let text = ui.t("password-reset-invalid-token");
            reset_page(&state, jar, token, false, Some((failure, text)))
        }
        Err(other) => Err(WebError(other)),
    }
}
