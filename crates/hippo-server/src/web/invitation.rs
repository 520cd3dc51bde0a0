//! The page where a new staff member sets their first password with the
//! token from their invitation mail (issue 12). Anonymous: the token is
//! the proof, used once (claimed atomically by the store) and valid seven
//! days. Unknown, used, expired and deactivated invitations look alike.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use crate::auth::token::{hash_token, is_well_formed};
use crate::error::{Failure, WebError};
use crate::extract::RequestMeta;
use crate::i18n::Ui;
use crate::state::AppState;
use crate::web::login::{
    session_less_form_answer, session_less_form_csrf_ok, session_less_form_token,
};
use crate::web::render::page;

/// BSI TR-03161 asks for long passwords rather than composition rules.
pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    ui: Ui,
    csrf: String,
    token: String,
    /// The invitation can be accepted; otherwise the page says the link
    /// does not work (any reason alike).
    open: bool,
    accepted: bool,
    error: Option<String>,
    min_chars: usize,
}

#[derive(Deserialize)]
pub struct InvitationQuery {
    #[serde(default)]
    token: String,
}

fn answer(
    state: &AppState,
    jar: CookieJar,
    token: String,
    open: bool,
    accepted: bool,
    failure: Option<Failure>,
) -> Result<Response, WebError> {
    let (jar, csrf) = session_less_form_token(state, jar);
    let body = page(&InvitationPage {
        ui: Ui::current(),
        csrf,
        token: if open { token } else { String::new() },
        open,
        accepted,
        error: failure
            .as_ref()
            .map(|f| f.localized(crate::i18n::Lang::current())),
        min_chars: MIN_PASSWORD_CHARS,
    })?;
    Ok(session_less_form_answer(jar, body, failure.as_ref()))
}

async fn is_open(state: &AppState, token: &str) -> Result<bool, WebError> {
    if !is_well_formed(token) {
        return Ok(false);
    }
    state
        .invitations()
        .is_open(&hash_token(token))
        .await
        .map_err(|e| WebError(e.into()))
}

pub async fn form(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<InvitationQuery>,
) -> Result<Response, WebError> {
    let open = is_open(&state, &query.token).await?;
    answer(&state, jar, query.token, open, false, None)
}

#[derive(Deserialize)]
pub struct InvitationForm {
    csrf: String,
    token: String,
    password: String,
    password_repeat: String,
}

fn checked_password(form: &InvitationForm) -> Result<(), Failure> {
    if form.password.chars().count() < MIN_PASSWORD_CHARS
        || form.password.len() > MAX_PASSWORD_BYTES
    {
        return Err(Failure::Invalid(format!(
            "password: at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if form.password != form.password_repeat {
        return Err(Failure::Invalid(
            "password_repeat: the two passwords differ".into(),
        ));
    }
    Ok(())
}

pub async fn submit(
    State(state): State<AppState>,
    meta: RequestMeta,
    jar: CookieJar,
    Form(form): Form<InvitationForm>,
) -> Result<Response, WebError> {
    if !session_less_form_csrf_ok(&jar, &form.csrf) {
        let open = is_open(&state, &form.token).await?;
        return answer(
            &state,
            jar,
            form.token,
            open,
            false,
            Some(Failure::CsrfMismatch),
        );
    }
    if !is_open(&state, &form.token).await? {
        // Recorded like a lost race: one not-found record.
        state
            .invitations()
            .record_refusal(&meta.origin)
            .await
            .map_err(|e| WebError(e.into()))?;
        return answer(&state, jar, String::new(), false, false, None);
    }
    if let Err(failure) = checked_password(&form) {
        return answer(&state, jar, form.token, true, false, Some(failure));
    }
    let password_hash = state.passwords().hash_new(&form.password).await?;
    let accepted = state
        .invitations()
        .accept(&hash_token(&form.token), &password_hash, &meta.origin)
        .await
        .map_err(|e| WebError(e.into()))?;
    answer(&state, jar, String::new(), false, accepted.is_some(), None)
}
