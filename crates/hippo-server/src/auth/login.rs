//! The login flow shared by the JSON API and the browser form.

use std::net::IpAddr;

use hippo_core::Principal;
use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::switches::{Outage, Service};
use hippo_core::time_util::{UnixMillis, now_millis};

use hippo_store::SessionSurface;
use secrecy::SecretString;

use crate::auth::token::{hash_token, new_token};
use crate::error::Failure;
use crate::state::AppState;

pub struct LoginSuccess {
    /// The new session token: shown to the client once, never logged.
    pub token: SecretString,
    pub principal: Principal,
    pub expires_at: UnixMillis,
}

const MAX_EMAIL: usize = 254;
const MAX_PASSWORD: usize = 1024;

/// `surface` is where the new session's token will count: the form's
/// cookie (`Web`) or the API's bearer header (`Api`), never both.
#[tracing::instrument(skip_all)]
pub async fn login(
    state: &AppState,
    email: &str,
    password: &str,
    surface: SessionSurface,
    origin: &RequestOrigin,
    client: Option<IpAddr>,
) -> Result<LoginSuccess, Failure> {
    let audit = state.audit_log();
    let event = |outcome| AuditEvent::new(Action::Login, ResourceKind::Session, outcome);
    let email = email.trim();
    if email.is_empty() || email.len() > MAX_EMAIL || password.len() > MAX_PASSWORD {
        return Err(Failure::BadRequest(
            "email and password are required (at most 254 and 1024 characters)".into(),
        ));
    }
    if !state.throttle().allow(email, client) {
        audit
            .append(AuditActor::anonymous(), event(Outcome::RateLimited), origin)
            .await?;
        return Err(Failure::RateLimited);
    }
    let credentials = state.sessions().credentials(email).await?;
    let verified = match state
        .passwords()
        .verify(
            password,
            credentials.as_ref().map(|c| c.password_hash.as_str()),
        )
        .await
    {
        Ok(verified) => verified,
        Err(Failure::RateLimited) => {
            // The hashing queue is full (a login flood): refused before
            // any work, recorded with the account it targeted.
            let mut refused = event(Outcome::RateLimited).detail("hashing_queue_full");
            if let Some(c) = &credentials {
                refused = refused.resource(c.subject.id());
            }
            audit
                .append(AuditActor::anonymous(), refused, origin)
                .await?;
            return Err(Failure::RateLimited);
        }
        Err(other) => return Err(other),
    };
    let subject = match credentials {
        Some(c) if verified => c.subject,
        other => {
            // Record which account was targeted, never what was typed.
            let mut rejected = event(Outcome::Rejected).detail("invalid_credentials");
            if let Some(c) = other {
                rejected = rejected.resource(c.subject.id());
            }
            audit
                .append(AuditActor::anonymous(), rejected, origin)
                .await?;
            return Err(Failure::InvalidCredentials);
        }
    };
    let principal = state
        .sessions()
        .principal(subject)
        .await?
        .ok_or(Failure::InvalidCredentials)?;
    if let Some(outage) = login_switched_off(state, &principal) {
        let refused = event(Outcome::Rejected)
            .resource(subject.id())
            .detail("service_off");
        audit
            .append(AuditActor::anonymous(), refused, origin)
            .await?;
        return Err(Failure::ServiceOff(outage));
    }
    let token = new_token();
    let now = now_millis();
    let expires_at = now + state.config().session_absolute_timeout.as_millis() as i64;
    state
        .sessions()
        .create_session(&hash_token(&token), subject, surface, now, expires_at)
        .await?;
    let mut success = event(Outcome::Success);
    success.tenant_id = principal.staff_tenant();
    audit
        .append(AuditActor::of(&principal), success, origin)
        .await?;
    Ok(LoginSuccess {
        token: SecretString::from(token),
        principal,
        expires_at,
    })
}

/// Whether `login` is off for this principal: staff by their tenant,
/// patients only when it is off for every facility they belong to (their
/// other facilities keep serving them). Operators are never locked out:
/// the console is how a switch is turned back on.
fn login_switched_off(state: &AppState, principal: &Principal) -> Option<Outage> {
    let board = state.switches().snapshot();
    let login = &[Service::Login];
    match principal {
        Principal::Operator { .. } => None,
        Principal::Staff { tenant_id, .. } | Principal::LabSystem { tenant_id, .. } => {
            board.for_tenant(login, *tenant_id).cloned()
        }
        Principal::Patient { links, .. } => {
            if let Some(everywhere) = board.everywhere(login) {
                return Some(everywhere.clone());
            }
            let mut outages = links
                .iter()
                .map(|link| board.for_tenant(login, link.tenant_id));
            let first = outages.next().flatten()?.clone();
            outages.all(|o| o.is_some()).then_some(first)
        }
    }
}
