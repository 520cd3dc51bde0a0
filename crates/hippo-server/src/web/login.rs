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
use crate::auth::device::{DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE_SECS, DeviceKey, is_device_cookie};
use crate::auth::login::login;
use crate::auth::return_path::local_path;
use crate::auth::second_factor::LoginStep;
use crate::auth::session::LoginSuccess;
use crate::auth::token::{
    LOGIN_CSRF_COOKIE, PENDING_LOGIN_COOKIE, SESSION_COOKIE, SESSION_COOKIE_SECURE, hash_token,
    new_token,
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
    /// The session ran out (idle or too old): say so (issue 12).
    expired: bool,
    /// Where to go after the login: a local path only.
    next: Option<String>,
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

/// A fresh CSRF token for a form without a session (login, its second
/// step, retrieval): the nonce goes into the cookie, the field (its HMAC)
/// into the page.
pub(crate) fn session_less_form_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let token = login_form_token();
    let jar = jar.add(cookie(
        LOGIN_CSRF_COOKIE,
        token.cookie_nonce,
        state.config().cookie_secure,
    ));
    (jar, token.field)
}

/// Whether a session-less form's `csrf` field belongs to its cookie.
pub(crate) fn session_less_form_csrf_ok(jar: &CookieJar, field: &str) -> bool {
    verify_login_form(jar.get(LOGIN_CSRF_COOKIE).map(|c| c.value()), field)
}

/// A session-less form page as the answer: the failure's status (200
/// without one), and a CSRF mismatch marked for the form guard, which
/// records it with the route.
pub(crate) fn session_less_form_answer(
    jar: CookieJar,
    body: Response,
    failure: Option<&Failure>,
) -> Response {
    let status = failure.map_or(axum::http::StatusCode::OK, Failure::status);
    let mut response = (status, jar, body).into_response();
    if matches!(failure, Some(Failure::CsrfMismatch)) {
        response
            .extensions_mut()
            .insert(crate::error::Refused("csrf_mismatch"));
    }
    response
}

/// Render the form with a fresh CSRF token.
fn login_page(
    state: &AppState,
    jar: CookieJar,
    email: String,
    error: Option<Failure>,
    notice: LoginNotice,
) -> Result<Response, WebError> {
    let (jar, csrf) = session_less_form_token(state, jar);
    let body = page(&LoginPage {
        ui: Ui::current(),
        csrf,
        email,
        error: error
            .as_ref()
            .map(|f| f.localized(crate::i18n::Lang::current())),
        signed_out: notice.signed_out,
        expired: notice.expired,
        next: notice.next,
    })?;
    Ok(session_less_form_answer(jar, body, error.as_ref()))
}

/// What the login page says above the form, and where it leads after.
#[derive(Default)]
struct LoginNotice {
    signed_out: bool,
    expired: bool,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    signed_out: Option<u8>,
    expired: Option<u8>,
    next: Option<String>,
}

pub async fn form(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<LoginQuery>,
) -> Result<Response, WebError> {
    let notice = LoginNotice {
        signed_out: query.signed_out.is_some(),
        expired: query.expired.is_some(),
        next: query
            .next
            .as_deref()
            .and_then(local_path)
            .map(str::to_owned),
    };
    login_page(&state, jar, String::new(), None, notice)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: SecretString,
    csrf: String,
    next: Option<String>,
}

/// The path to return to after the login, kept in a cookie across the
/// second step.
const LOGIN_NEXT_COOKIE: &str = "hippo_login_next";

/// The browser's device cookie (issue 12), made on its first login.
fn device_cookie(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    if let Some(value) = jar.get(DEVICE_COOKIE).map(|c| c.value().to_owned())
        && is_device_cookie(&value)
    {
        return (jar, value);
    }
    let value = new_token();
    let mut cookie = cookie(DEVICE_COOKIE, value.clone(), state.config().cookie_secure);
    cookie.set_max_age(time::Duration::seconds(DEVICE_COOKIE_MAX_AGE_SECS));
    (jar.add(cookie), value)
}

/// The device of a browser login: its cookie (made now if missing).
pub(crate) fn browser_device(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    device_cookie(state, jar)
}

pub async fn submit(
    State(state): State<AppState>,
    meta: RequestMeta,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let notice = || LoginNotice {
        next: form.next.as_deref().and_then(local_path).map(str::to_owned),
        ..LoginNotice::default()
    };
    if !session_less_form_csrf_ok(&jar, &form.csrf) {
        return login_page(
            &state,
            jar,
            form.email.clone(),
            Some(Failure::CsrfMismatch),
            notice(),
        );
    }
    let jar = match form.next.as_deref().and_then(local_path) {
        Some(next) => jar.add(cookie(
            LOGIN_NEXT_COOKIE,
            next.to_owned(),
            state.config().cookie_secure,
        )),
        None => jar.remove(Cookie::build(LOGIN_NEXT_COOKIE).path("/")),
    };
    let (jar, device) = browser_device(&state, jar);
    match login(
        &state,
        &form.email,
        form.password.expose_secret(),
        SessionSurface::Web,
        &meta.origin,
        meta.client_ip,
        &DeviceKey::Browser(&device),
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
        Ok(LoginStep::EnrolmentRequired(pending)) => {
            let jar = jar.add(cookie(
                PENDING_LOGIN_COOKIE,
                pending.token.expose_secret().to_owned(),
                state.config().cookie_secure,
            ));
            Ok((jar, Redirect::to("/login/enrol")).into_response())
        }
        Err(
            failure @ (Failure::InvalidCredentials
            | Failure::RateLimited
            | Failure::LoginThrottled { .. }
            | Failure::BadRequest(_)),
        ) => login_page(&state, jar, form.email.clone(), Some(failure), notice()),
        Err(other) => Err(WebError(other)),
    }
}

/// Set the session cookie (dropping the login's helper cookies) and go home.
pub(crate) fn signed_in(state: &AppState, jar: CookieJar, success: LoginSuccess) -> Response {
    let next = jar
        .get(LOGIN_NEXT_COOKIE)
        .and_then(|c| local_path(c.value()))
        .unwrap_or("/")
        .to_owned();
    (signed_in_jar(state, jar, success), Redirect::to(&next)).into_response()
}

/// The cookies of a new session: the session cookie set, the login's
/// helper cookies (way back, CSRF, pending login) dropped.
pub(crate) fn signed_in_jar(state: &AppState, jar: CookieJar, success: LoginSuccess) -> CookieJar {
    jar.remove(Cookie::build(LOGIN_NEXT_COOKIE).path("/"))
        .remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/"))
        .remove(Cookie::build(PENDING_LOGIN_COOKIE).path("/"))
        .add(cookie(
            session_cookie_name(state),
            success.token.expose_secret().to_owned(),
            state.config().cookie_secure,
        ))
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
