//! The login flow shared by the JSON API and the browser form.

use std::net::IpAddr;

use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};

use hippo_store::SessionSurface;

use crate::auth::device::DeviceKey;
use crate::auth::second_factor::{LoginStep, after_password};
use crate::auth::session::login_switched_off;
use crate::error::Failure;
use crate::state::AppState;

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
    device: &DeviceKey<'_>,
) -> Result<LoginStep, Failure> {
    let audit = state.audit_log();
    let event = |outcome| AuditEvent::new(Action::Login, ResourceKind::Session, outcome);
    let email = email.trim();
    if email.is_empty() || email.len() > MAX_EMAIL || password.len() > MAX_PASSWORD {
        return Err(Failure::BadRequest(
            "email and password are required (at most 254 and 1024 characters)".into(),
        ));
    }
    let attempt = match state.lockout().admit(email, client) {
        Ok(attempt) => attempt,
        Err(refusal) => {
            // Record which account was targeted (never what was typed),
            // so that a lockout storm shows up per account.
            let mut limited = event(Outcome::RateLimited).detail(refusal.detail());
            if let Some(c) = state.sessions().credentials(email).await? {
                limited = limited.resource(c.subject.id());
            }
            audit
                .append(AuditActor::anonymous(), limited, origin)
                .await?;
            return Err(Failure::LoginThrottled {
                retry_after_secs: refusal.retry_after_secs(),
            });
        }
    };
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
            // any work, recorded with the account it targeted; the attempt
            // counts neither way.
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
        Some(c) if verified => {
            attempt.succeeded();
            c.subject
        }
        other => {
            attempt.failed();
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
    // Password right: a session, or first the second factor.
    after_password(state, subject, principal, surface, origin, device).await
}
