//! Password reset by e-mail (issue 12), shared by the JSON API and the
//! forms.
//!
//! A request always gets the same answer, whether or not the address
//! belongs to anyone, and gets it before any work that depends on the
//! address: the lookup, the token and the mail happen after the answer,
//! in a task of their own, so neither the answer nor its timing tells
//! whether an account exists. Requests are limited per client address
//! (before the answer, independent of the address typed) and per account
//! (in the database, a few per hour; over it, nothing is sent, audited
//! with the target). Operators are refused (audited): their console
//! controls every tenant, and an e-mail alone must not hand it over; an
//! operator's password is set by another operator with the CLI.
//!
//! The token is 256 random bits, only its SHA-256 is stored, it expires
//! after 30 minutes and is used up by one conditional UPDATE. A reset
//! ends every session of the account; the second factor stays and is
//! asked at the next login as before.

use std::net::IpAddr;

use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::time_util::now_millis;
use hippo_store::ResetSubject;

use crate::auth::account_mail;
use crate::auth::token::{hash_token, is_well_formed, new_token};
use crate::error::Failure;
use crate::i18n::Lang;
use crate::state::AppState;

/// How long a reset link works.
pub const RESET_VALIDITY_MS: i64 = 30 * 60 * 1000;
/// Reset mails one account gets per hour at most.
pub const RESETS_PER_ACCOUNT_PER_HOUR: i64 = 3;
/// The password rule (the same for every way a password is set).
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_BYTES: usize = 1024;
const MAX_EMAIL: usize = 254;

/// Whether a new password is acceptable; the reason if not.
pub fn check_new_password(password: &str) -> Result<(), Failure> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Failure::Invalid(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Failure::Invalid(format!(
            "the password must have at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

fn event(action: Action, outcome: Outcome) -> AuditEvent {
    AuditEvent::new(action, ResourceKind::Session, outcome)
}

/// Ask for a reset mail. `Ok` means only "accepted": the same for every
/// address. Refused before the answer only by the per-address limit.
pub async fn request(
    state: &AppState,
    email: &str,
    origin: &RequestOrigin,
    client: Option<IpAddr>,
    lang: Lang,
) -> Result<(), Failure> {
    let email = email.trim().to_owned();
    if email.is_empty() || email.len() > MAX_EMAIL {
        return Err(Failure::BadRequest(
            "an e-mail address is required (at most 254 characters)".into(),
        ));
    }
    if !state.reset_throttle().allow(client) {
        let limited =
            event(Action::PasswordResetRequest, Outcome::RateLimited).detail("per_client_address");
        state
            .audit_log()
            .append(AuditActor::anonymous(), limited, origin)
            .await?;
        return Err(Failure::RateLimited);
    }
    let state = state.clone();
    let origin = origin.clone();
    tokio::spawn(async move {
        if let Err(e) = send_reset(&state, &email, &origin, lang).await {
            tracing::error!(error = %e, "password reset request not completed");
        }
    });
    Ok(())
}

/// The work behind a request, after the answer: find the account, check
/// its limit, store the token's hash with the mail, audit.
async fn send_reset(
    state: &AppState,
    email: &str,
    origin: &RequestOrigin,
    lang: Lang,
) -> Result<(), Failure> {
    let audit = state.audit_log();
    let record = |outcome, target: Option<String>, detail: &'static str| {
        let mut e = event(Action::PasswordResetRequest, outcome).detail(detail);
        if let Some(target) = target {
            e = e.resource(target);
        }
        e
    };
    let sessions = state.sessions();
    let Some(credentials) = sessions.credentials(email).await? else {
        let unknown = record(Outcome::Rejected, None, "unknown_address");
        audit
            .append(AuditActor::anonymous(), unknown, origin)
            .await?;
        return Ok(());
    };
    let target = credentials.subject.id();
    let Some(subject) = ResetSubject::of(credentials.subject) else {
        let refused = record(Outcome::Rejected, Some(target), "operator_reset_refused");
        audit
            .append(AuditActor::anonymous(), refused, origin)
            .await?;
        return Ok(());
    };
    let now = now_millis();
    let Some(recipient) = sessions.email_of(credentials.subject).await? else {
        return Ok(());
    };
    let token = new_token();
    let mail = account_mail::password_reset(state, lang, target.clone(), recipient, &token);
    let limit = (now - 60 * 60 * 1000, RESETS_PER_ACCOUNT_PER_HOUR);
    let created = sessions
        .create_reset(
            &hash_token(&token),
            subject,
            now,
            now + RESET_VALIDITY_MS,
            limit,
            &mail,
        )
        .await?;
    if !created {
        let limited = record(Outcome::RateLimited, Some(target), "per_account");
        audit
            .append(AuditActor::anonymous(), limited, origin)
            .await?;
        return Ok(());
    }
    let requested = record(Outcome::Success, Some(target), "reset_mail_queued");
    audit
        .append(AuditActor::anonymous(), requested, origin)
        .await?;
    Ok(())
}

/// Set a new password with a reset token: exactly one use of a token
/// succeeds. An unknown, used and expired token are one answer.
pub async fn confirm(
    state: &AppState,
    token: &str,
    password: &str,
    origin: &RequestOrigin,
) -> Result<(), Failure> {
    let audit = state.audit_log();
    check_new_password(password)?;
    let refused = || async {
        let refused =
            event(Action::PasswordResetConfirm, Outcome::Rejected).detail("invalid_token");
        audit
            .append(AuditActor::anonymous(), refused, origin)
            .await?;
        Err::<(), Failure>(Failure::InvalidResetToken)
    };
    let token = token.trim();
    if !is_well_formed(token) {
        return refused().await;
    }
    let token_hash = hash_token(token);
    let sessions = state.sessions();
    // A cheap check first, so that a used or unknown token costs no hash.
    if sessions
        .reset_subject(&token_hash, now_millis())
        .await?
        .is_none()
    {
        return refused().await;
    }
    let password = password.to_owned();
    let new_hash = tokio::task::spawn_blocking(move || crate::auth::password::hash(&password))
        .await
        .map_err(Failure::internal)??;
    let Some(subject) = sessions
        .redeem_reset(&token_hash, now_millis(), &new_hash)
        .await?
    else {
        return refused().await;
    };
    let done = event(Action::PasswordResetConfirm, Outcome::Success)
        .resource(subject.login_subject().id())
        .detail("password_set_sessions_ended");
    audit.append(AuditActor::anonymous(), done, origin).await?;
    Ok(())
}
