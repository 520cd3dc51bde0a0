//! Retrieval codes, as the API and the web pages share them: issuing a
//! code (and its sheet) for staff, and the code holder's path from typed
//! code and date of birth to one admitted finding and a one-time PDF link.
//! Typed input is checked here, before anything counts as an attempt.

use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header::HOST;
use hippo_core::audit::{AuditActor, AuditEvent, Outcome};
use hippo_core::patient::parse_birth_date;
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::retrieval::RetrievalCode;
use hippo_core::time_util::{UnixMillis, now_millis};
use hippo_core::{FindingId, TenantId};
use hippo_store::{
    Admitted, FindingDetail, FindingPdf, NewPdfLink, NewRetrievalCode, RetrievalCodeRecord,
};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::auth::token::{hash_token, new_token};
use crate::error::Failure;
use crate::extract::{Authorized, RequestMeta};
use crate::retrieval_sheet::{Sheet, render};
use crate::state::AppState;

/// The longest validity staff may choose for one code.
pub const MAX_VALIDITY_DAYS: u32 = 90;

/// What is stored of a code: its SHA-256, domain-separated. A code has
/// 74 bits of entropy, so the hash cannot be reversed by trying codes.
pub fn code_hash(code: &RetrievalCode) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"hippo retrieval code v1\0");
    hasher.update(code.canonical().as_bytes());
    hex::encode(hasher.finalize())
}

/// A code just issued: the record, and the code itself, shown this once.
pub struct IssuedCode {
    pub record: Admitted<RetrievalCodeRecord>,
    pub code: RetrievalCode,
}

/// Issue a code for a released finding of the caller's tenant, valid for
/// `days` (or the configured default).
pub async fn issue(
    state: &AppState,
    caller: &Authorized,
    finding: FindingId,
    days: Option<u32>,
) -> Result<IssuedCode, Failure> {
    let staff = caller.staff()?;
    let validity = match days {
        None => state.config().retrieval.code_validity,
        Some(d) if (1..=MAX_VALIDITY_DAYS).contains(&d) => {
            Duration::from_secs(u64::from(d) * 24 * 60 * 60)
        }
        Some(_) => {
            return Err(Failure::Invalid(format!(
                "valid_days: a whole number from 1 to {MAX_VALIDITY_DAYS}"
            )));
        }
    };
    let code = RetrievalCode::generate().map_err(Failure::internal)?;
    let new = NewRetrievalCode {
        code_hash: code_hash(&code),
        expires_at: now_millis() + validity.as_millis() as i64,
        max_attempts: state.config().retrieval.max_attempts.max(1),
    };
    let record = staff.issue_retrieval_code(finding, &new).await?;
    Ok(IssuedCode { record, code })
}

/// The public retrieval page's address: configured, or the one the staff
/// member's browser used (a host name of plain characters only).
pub fn page_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config().retrieval.public_url {
        return format!("{}/retrieve", url.trim_end_matches('/'));
    }
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 253
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    let scheme = if state.config().cookie_secure {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}/retrieve")
}

/// The printed sheet of a code just issued.
pub fn sheet(
    state: &AppState,
    headers: &HeaderMap,
    issued: &IssuedCode,
) -> Result<Vec<u8>, Failure> {
    let url = page_url(state, headers);
    // In the language of the issuing request (the staff's page, or the
    // API client's Accept-Language).
    let ui = crate::i18n::Ui::current();
    render(&Sheet {
        facility: &issued.record.facility,
        page_url: &url,
        code: &issued.code.grouped(),
        valid_until: &ui.date_time(&issued.record.expires_at),
        attempts: u32::try_from(issued.record.max_attempts).unwrap_or(u32::MAX),
        lang: ui.lang,
    })
    .map_err(|e| Failure::Internal(Some(std::sync::Arc::new(QrFailed(e.to_string())))))
}

#[derive(Debug, thiserror::Error)]
#[error("QR code: {0}")]
struct QrFailed(String);

/// A finding retrieved with a code, and its one-time PDF link.
pub struct Retrieved {
    pub finding: Admitted<FindingDetail>,
    /// The secret of the link, shown once.
    pub pdf_token: SecretString,
    pub pdf_expires_at: UnixMillis,
}

async fn reject(
    state: &AppState,
    meta: &RequestMeta,
    action: Action,
    detail: &'static str,
    failure: Failure,
) -> Failure {
    let event =
        AuditEvent::new(action, ResourceKind::RetrievalCode, Outcome::Rejected).detail(detail);
    match state
        .audit_log()
        .append(AuditActor::anonymous(), event, &meta.origin)
        .await
    {
        Ok(_) => failure,
        Err(e) => e.into(),
    }
}

/// The per-address budget, charged once per request.
async fn throttle(state: &AppState, meta: &RequestMeta, action: Action) -> Result<(), Failure> {
    if state.retrieval_throttle().allow(meta.client_ip) {
        return Ok(());
    }
    Err(reject(state, meta, action, "rate_limited", Failure::RateLimited).await)
}

/// Code and date of birth as typed, to the finding. The order matters:
/// the address budget, then the code's form and check symbol and the
/// date's form (neither counts as an attempt), then the code itself.
#[tracing::instrument(skip_all)]
pub async fn retrieve(
    state: &AppState,
    meta: &RequestMeta,
    typed_code: &str,
    typed_birth_date: &str,
) -> Result<Retrieved, Failure> {
    let action = Action::RetrievalRedeem;
    throttle(state, meta, action).await?;
    let code = match RetrievalCode::parse(typed_code) {
        Ok(code) => code,
        Err(e) => {
            let detail = match e {
                hippo_core::retrieval::CodeError::Typo => "code_typo",
                _ => "code_malformed",
            };
            let failure = Failure::RetrievalCodeMalformed(e);
            return Err(reject(state, meta, action, detail, failure).await);
        }
    };
    let Ok(birth_date) = parse_birth_date(typed_birth_date) else {
        let failure = Failure::Invalid("date_of_birth: must be an ISO date, YYYY-MM-DD".into());
        return Err(reject(state, meta, action, "birth_date_malformed", failure).await);
    };
    let holder = state
        .retrieval_desk()
        .authenticate(&code_hash(&code), birth_date, now_millis(), &meta.origin)
        .await?;
    refuse_if_switched_off(state, action, holder.tenant_id)?;
    let token = SecretString::from(new_token());
    let link = NewPdfLink {
        token_hash: hash_token(token.expose_secret()),
        expires_at: now_millis() + state.config().retrieval.pdf_link_validity.as_millis() as i64,
    };
    let finding = state
        .code_holder_scope(&holder, meta.origin.clone(), action)
        .retrieve(&link)
        .await?;
    Ok(Retrieved {
        finding,
        pdf_token: token,
        pdf_expires_at: link.expires_at,
    })
}

/// Retrieval switched off for the code's tenant: the holder is known but
/// nothing is admitted, read or spent (off everywhere is refused by the
/// route middleware before this runs).
fn refuse_if_switched_off(
    state: &AppState,
    action: Action,
    tenant: TenantId,
) -> Result<(), Failure> {
    match state
        .switches()
        .snapshot()
        .for_tenant(action.services(), tenant)
    {
        Some(outage) => Err(Failure::ServiceOff(outage.clone())),
        None => Ok(()),
    }
}

/// A one-time PDF link, used: the PDF of the code's finding. Used,
/// expired, unknown or malformed links, and links of revoked codes, are
/// all "not found".
#[tracing::instrument(skip_all)]
pub async fn pdf(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
) -> Result<Admitted<FindingPdf>, Failure> {
    let action = Action::RetrievalPdfDownload;
    throttle(state, meta, action).await?;
    let desk = state.retrieval_desk();
    let token_hash = hash_token(token);
    if let Some(tenant) = desk.pdf_link_tenant(&token_hash).await? {
        refuse_if_switched_off(state, action, tenant)?;
    }
    let holder = desk
        .claim_pdf_link(&token_hash, now_millis(), &meta.origin)
        .await?;
    Ok(state
        .code_holder_scope(&holder, meta.origin.clone(), action)
        .pdf()
        .await?)
}
