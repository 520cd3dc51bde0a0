//! API keys page for tenant admins (issue 12 point 4): the facility's
//! lab-system keys, a form to create one (the secret shown once, on the
//! answer page), and revocation behind a confirmation. The same store
//! calls and checks as `/api/v1/api-keys` (`api::api_keys::issue_key`).

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Redirect, Response};
use hippo_core::ApiKeyId;
use hippo_core::time_util::{UnixMillis, now_millis};
use hippo_store::ApiKeyRecord;
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::api::api_keys::{issue_key, max_validity_days};
use crate::error::{Failure, WebError};
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::state::AppState;
use crate::web::render::{Nav, page};

pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub created: UnixMillis,
    pub expires: UnixMillis,
    pub expired: bool,
    pub revoked: Option<UnixMillis>,
    pub scope: Option<String>,
}

impl From<&ApiKeyRecord> for KeyRow {
    fn from(k: &ApiKeyRecord) -> Self {
        Self {
            id: k.id.to_string(),
            name: k.name.clone(),
            created: k.created_at,
            expires: k.expires_at,
            expired: k.is_expired(now_millis()),
            revoked: k.revoked_at,
            scope: k.scopes.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct ApiKeysPage {
    ui: Ui,
    nav: Nav,
    keys: Vec<KeyRow>,
    max_days: u32,
}

/// The answer to a key's creation: its secret, this once.
#[derive(Template)]
#[template(path = "api_key_created.html")]
struct ApiKeyCreatedPage {
    ui: Ui,
    nav: Nav,
    name: String,
    secret: String,
    expires: UnixMillis,
}

pub async fn list(State(state): State<AppState>, caller: Authorized) -> Result<Response, WebError> {
    let keys = caller.staff()?.list_api_keys().await?;
    page(&ApiKeysPage {
        ui: Ui::current(),
        nav: Nav::of(&caller),
        keys: keys.iter().map(Into::into).collect(),
        max_days: max_validity_days(&state),
    })
}

#[derive(Deserialize)]
pub struct CreateForm {
    csrf: String,
    name: String,
    #[serde(default)]
    days: String,
    /// SMART scopes (issue 13); empty: every right of a lab system.
    #[serde(default)]
    scope: String,
}

/// The answer page shows the secret this once (the page is `no-store`,
/// like every page); the list never shows it again.
pub async fn create(
    State(state): State<AppState>,
    caller: Authorized,
    Form(form): Form<CreateForm>,
) -> Result<Response, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let days = match form.days.trim() {
        "" => None,
        typed => Some(
            typed
                .parse::<u32>()
                .map_err(|_| Failure::Invalid("days: a whole number".into()))?,
        ),
    };
    let (record, secret) = issue_key(&state, &caller, &form.name, days, Some(&form.scope)).await?;
    page(&ApiKeyCreatedPage {
        ui: Ui::current(),
        nav: Nav::of(&caller),
        name: record.name.clone(),
        secret: secret.expose_secret().to_owned(),
        expires: record.expires_at,
    })
}

#[derive(Deserialize)]
pub struct RevokeForm {
    csrf: String,
    /// The confirmation checkbox: without it nothing is revoked.
    #[serde(default)]
    confirm: Option<String>,
}

pub async fn revoke(
    caller: Authorized,
    Path(raw): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let id: ApiKeyId = caller.parse_id(&raw).await?;
    if form.confirm.as_deref() != Some("yes") {
        return Err(WebError(Failure::Invalid(
            "confirm: tick the box to revoke the key".into(),
        )));
    }
    caller.staff()?.revoke_api_key(id).await?;
    Ok(Redirect::to("/api-keys"))
}
