//! Passkeys in the browser: the page `/account/passkeys` (list, register,
//! delete) and the passkey variant of the login's second step. The
//! WebAuthn calls run in `/static/passkeys.js` (the only script, a file:
//! the CSP stays `script-src 'self'`); it fetches a challenge, asks the
//! authenticator, and submits the answer in an ordinary form field. The
//! pages work without it (delete, and TOTP at login).

use askama::Template;
use axum::Form;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use hippo_core::time_util::UnixMillis;
use hippo_store::SessionSurface;
use secrecy::ExposeSecret;
use serde::Deserialize;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use crate::auth::device::DeviceKey;
use crate::auth::passkey;
use crate::auth::token::PENDING_LOGIN_COOKIE;
use crate::error::{Failure, WebError};
use crate::extract::{Authorized, RequestMeta};
use crate::i18n::Ui;
use crate::state::AppState;
use crate::web::login::{browser_device, session_less_form_csrf_ok, signed_in};
use crate::web::render::{Nav, page};

const SCRIPT: &str = include_str!("../../static/passkeys.js");

pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
}

struct PasskeyRow {
    id: String,
    name: String,
    created_at: UnixMillis,
    last_used_at: Option<UnixMillis>,
}

#[derive(Template)]
#[template(path = "passkeys.html")]
struct PasskeysPage {
    ui: Ui,
    nav: Nav,
    csrf: String,
    passkeys: Vec<PasskeyRow>,
}

pub async fn list(State(state): State<AppState>, caller: Authorized) -> Result<Response, WebError> {
    let passkeys = passkey::list(&state, &caller)
        .await?
        .into_iter()
        .map(|p| PasskeyRow {
            id: p.id.to_string(),
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        })
        .collect();
    page(&PasskeysPage {
        ui: Ui::current(),
        nav: Nav::of(&caller),
        csrf: caller.csrf_token(),
        passkeys,
    })
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// The registration options, as JSON for the script.
pub async fn register_challenge(
    State(state): State<AppState>,
    caller: Authorized,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    caller.verify_csrf(&form.csrf)?;
    Ok(Json(passkey::start_registration(&state, &caller).await?).into_response())
}

#[derive(Debug, Deserialize)]
pub struct RegisterForm {
    csrf: String,
    name: String,
    /// The `PublicKeyCredential` as JSON, filled in by the script.
    credential: String,
}

pub async fn register(
    State(state): State<AppState>,
    caller: Authorized,
    Form(form): Form<RegisterForm>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let credential: RegisterPublicKeyCredential = serde_json::from_str(&form.credential)
        .map_err(|_| Failure::Invalid("the authenticator's answer is not readable".into()))?;
    passkey::finish_registration(&state, &caller, &form.name, &credential).await?;
    Ok(Redirect::to("/account/passkeys"))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Authorized,
    Path(raw): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let id = caller.parse_id(&raw).await?;
    passkey::delete(&state, &caller, id).await?;
    Ok(Redirect::to("/account/passkeys"))
}

fn pending_token(jar: &CookieJar) -> Result<String, Failure> {
    jar.get(PENDING_LOGIN_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or(Failure::InvalidCredentials)
}

/// The login's passkey challenge, as JSON for the script; the pending
/// login comes from its HttpOnly cookie, the form token from the page.
pub async fn login_challenge(
    State(state): State<AppState>,
    meta: RequestMeta,
    jar: CookieJar,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    if !session_less_form_csrf_ok(&jar, &form.csrf) {
        return Err(WebError(Failure::CsrfMismatch));
    }
    let token = pending_token(&jar)?;
    Ok(Json(passkey::start_login(&state, &token, &meta.origin).await?).into_response())
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    csrf: String,
    credential: secrecy::SecretString,
}

pub async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    if !session_less_form_csrf_ok(&jar, &form.csrf) {
        return Err(WebError(Failure::CsrfMismatch));
    }
    let Ok(token) = pending_token(&jar) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let credential: PublicKeyCredential = serde_json::from_str(form.credential.expose_secret())
        .map_err(|_| Failure::BadRequest("the authenticator's answer is not readable".into()))?;
    let (jar, device) = browser_device(&state, jar);
    let device = DeviceKey::Browser(&device);
    match passkey::finish_login(
        &state,
        &token,
        &credential,
        SessionSurface::Web,
        &meta.origin,
        &device,
    )
    .await
    {
        Ok(success) => Ok(signed_in(&state, jar, success)),
        // Back to the second step, which offers the passkey again (a new
        // challenge) or the code, or sends to the password if it expired.
        Err(Failure::InvalidCredentials) => {
            Ok(Redirect::to("/login/second-factor").into_response())
        }
        Err(other) => Err(WebError(other)),
    }
}
