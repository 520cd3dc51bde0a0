//! Login and logout forms.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use hippo_store::SessionSurface;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::auth::csrf::{login_form_token, verify_login_form};
use crate::auth::login::login;
use crate::auth::second_factor::LoginStep;
use crate::auth::session::LoginSuccess;
use crate::auth::token::{
    LOGIN_CSRF_COOKIE, PENDING_LOGIN_COOKIE, SESSION_COOKIE, SESSION_COOKIE_SECURE, hash_token,
};
use crate::error::{Failure, WebError};
use crate::extract::{Authorized, RequestMeta};
use crate::i18n::Ui;
use crate::state::AppState;
use crate::web::render::page;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ui: Ui,
    csrf: String,
    email: String,
    error: Option<String>,
    signed_out: bool,
}

pub(crate) fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .build()
}

fn session_cookie_name(state: &AppState) -> &'static str {
    if state.config().cookie_secure {
        SESSION_COOKIE_SECURE
    } else {
        SESSION_COOKIE
    }
}

/// Render the form with a fresh double-submit token.
fn login_page(
    state: &AppState,
    jar: CookieJar,
    email: String,
    error: Option<Failure>,
    signed_out: bool,
) -> Result<Response, WebError> {
    let csrf_refused = matches!(error, Some(Failure::CsrfMismatch));
    let token = login_form_token();
    let jar = jar.add(cookie(
        LOGIN_CSRF_COOKIE,
        token.cookie_nonce,
        state.config().cookie_secure,
    ));
    let csrf = token.field;
    let status = error.as_ref().map(Failure::status);
    let body = page(&LoginPage {
        ui: Ui::current(),
        csrf,
        email,
        error: error.map(|f| f.localized(crate::i18n::Lang::current())),
        signed_out,
    })?;
    let mut response = match status {
        Some(status) => (status, jar, body).into_response(),
        None => (jar, body).into_response(),
    };
    if csrf_refused {
        // A CSRF mismatch: recorded by the form guard, with the route.
        response
            .extensions_mut()
            .insert(crate::error::Refused("csrf_mismatch"));
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct LoginQuery {
    signed_out: Option<u8>,
}

pub async fn form(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<LoginQuery>,
) -> Result<Response, WebError> {
    login_page(&state, jar, String::new(), None, query.signed_out.is_some())
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: SecretString,
    csrf: String,
}

pub async fn submit(
    State(state): State<AppState>,
    meta: RequestMeta,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let cookie_token = jar.get(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned());
    if !verify_login_form(cookie_token.as_deref(), &form.csrf) {
        return login_page(&state, jar, form.email, Some(Failure::CsrfMismatch), false);
    }
    match login(
        &state,
        &form.email,
        form.password.expose_secret(),
        SessionSurface::Web,
        &meta.origin,
        meta.client_ip,
    )
    .await
    {
        Ok(LoginStep::Session(success)) => Ok(signed_in(&state, jar, success)),
        Ok(LoginStep::SecondFactor(pending)) => {
            let jar = jar.add(cookie(
                PENDING_LOGIN_COOKIE,
                pending.token.expose_secret().to_owned(),
                state.config().cookie_secure,
            ));
            Ok((jar, Redirect::to("/login/second-factor")).into_response())
        }
        Err(
            failure @ (Failure::InvalidCredentials
            | Failure::RateLimited
            | Failure::LoginThrottled { .. }
            | Failure::BadRequest(_)),
        ) => login_page(&state, jar, form.email, Some(failure), false),
        Err(other) => Err(WebError(other)),
    }
}

/// Set the session cookie (dropping the login's helper cookies) and go home.
pub(crate) fn signed_in(state: &AppState, jar: CookieJar, success: LoginSuccess) -> Response {
    let jar = jar
        .remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/"))
        .remove(Cookie::build(PENDING_LOGIN_COOKIE).path("/"))
        .add(cookie(
            session_cookie_name(state),
            success.token.expose_secret().to_owned(),
            state.config().cookie_secure,
        ));
    (jar, Redirect::to("/")).into_response()
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    pub csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    caller: Authorized,
    jar: CookieJar,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    caller.verify_csrf(&form.csrf)?;
    state
        .sessions()
        .delete_session(&hash_token(caller.session_token()))
        .await?;
    let jar = jar.remove(Cookie::build(session_cookie_name(&state)).path("/"));
    Ok((jar, Redirect::to("/login?signed_out=1")).into_response())
}
