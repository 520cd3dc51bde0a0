//! The second step of a login. A right password of an account with a
//! second factor yields a short-lived pending-login token, not a session;
//! the token plus a TOTP code (or a recovery code) yields the session.
//! Wrong codes are audited and throttled per account, and a pending login
//! dies after a few wrong codes.

use std::net::IpAddr;

use hippo_core::Principal;
use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::time_util::{UnixMillis, now_millis};
use hippo_store::{LoginSubject, PendingPurpose, SessionSurface};
use secrecy::{ExposeSecret, SecretString};

use crate::auth::device::DeviceKey;
use crate::auth::recovery;
use crate::auth::session::{LoginSuccess, login_switched_off, open_session};
use crate::auth::token::{hash_token, new_token};
use crate::auth::totp;
use crate::error::Failure;
use crate::state::AppState;

/// How long a pending login waits for its code.
pub const PENDING_LOGIN_MS: i64 = 5 * 60 * 1000;
/// Wrong codes one pending login takes before the password is asked again.
pub const WRONG_CODES_PER_PENDING_LOGIN: i64 = 5;
/// What a right password leads to.
pub enum LoginStep {
    /// No second factor enrolled: the session.
    Session(LoginSuccess),
    /// The session waits for a code.
    SecondFactor(PendingSecondFactor),
    /// Staff and operators without a factor: no session until they have
    /// enrolled one (TR-03161 O.Auth_3); the token only enrols.
    EnrolmentRequired(PendingSecondFactor),
}

pub struct PendingSecondFactor {
    /// Shown to the client once, never logged; only its hash is stored.
    pub token: SecretString,
    pub expires_at: UnixMillis,
}

/// After the password was right (and login is not switched off): a
/// session, or a pending login when the subject has a second factor.
pub async fn after_password(
    state: &AppState,
    subject: LoginSubject,
    principal: Principal,
    surface: SessionSurface,
    origin: &RequestOrigin,
    device: &DeviceKey<'_>,
) -> Result<LoginStep, Failure> {
    let has_factor = state.second_factors().has_second_factor(subject).await?;
    let purpose = match (has_factor, second_factor_mandatory(&principal)) {
        (true, _) => PendingPurpose::SecondFactor,
        (false, true) => PendingPurpose::Enrolment,
        (false, false) => {
            return Ok(LoginStep::Session(
                open_session(state, subject, principal, surface, origin, device).await?,
            ));
        }
    };
    let token = new_token();
    let now = now_millis();
    let expires_at = now + PENDING_LOGIN_MS;
    state
        .second_factors()
        .create_pending(&hash_token(&token), subject, purpose, now, expires_at)
        .await?;
    let detail = match purpose {
        PendingPurpose::SecondFactor => "second_factor_required",
        PendingPurpose::Enrolment => "enrolment_required",
    };
    let mut pending = AuditEvent::new(Action::Login, ResourceKind::Session, Outcome::Success)
        .resource(subject.id())
        .detail(detail);
    pending.tenant_id = principal.staff_tenant();
    state
        .audit_log()
        .append(AuditActor::anonymous(), pending, origin)
        .await?;
    let pending = PendingSecondFactor {
        token: SecretString::from(token),
        expires_at,
    };
    Ok(match purpose {
        PendingPurpose::SecondFactor => LoginStep::SecondFactor(pending),
        PendingPurpose::Enrolment => LoginStep::EnrolmentRequired(pending),
    })
}

/// Staff and operators must have a second factor (TR-03161 O.Auth_3);
/// for patients it is optional.
pub fn second_factor_mandatory(principal: &Principal) -> bool {
    !matches!(principal, Principal::Patient { .. })
}

pub(crate) const MAX_CODE: usize = 64;

/// The second step: the pending login's token and a code.
#[tracing::instrument(skip_all)]
pub async fn complete(
    state: &AppState,
    pending_token: &str,
    code: &str,
    surface: SessionSurface,
    origin: &RequestOrigin,
    _client: Option<IpAddr>,
    device: &DeviceKey<'_>,
) -> Result<LoginSuccess, Failure> {
    let audit = state.audit_log();
    let event =
        |outcome| AuditEvent::new(Action::LoginSecondFactor, ResourceKind::Session, outcome);
    if pending_token.len() > MAX_CODE || code.len() > MAX_CODE {
        return Err(Failure::BadRequest(
            "token and code are at most 64 characters".into(),
        ));
    }
    let store = state.second_factors();
    let now = now_millis();
    let token_hash = hash_token(pending_token);
    // An enrolment's token takes no code: it has no factor to check.
    let Some(pending) = store
        .pending_login(&token_hash, now)
        .await?
        .filter(|p| p.purpose == PendingPurpose::SecondFactor)
    else {
        audit
            .append(
                AuditActor::anonymous(),
                event(Outcome::Rejected).detail("unknown_pending_login"),
                origin,
            )
            .await?;
        return Err(Failure::InvalidCredentials);
    };
    let subject_id = pending.subject.id();
    if state.wrong_codes().blocked(&subject_id, now) {
        audit
            .append(
                AuditActor::anonymous(),
                event(Outcome::RateLimited).resource(&subject_id),
                origin,
            )
            .await?;
        return Err(Failure::RateLimited);
    }
    if !code_is_right(state, pending.subject, code, now).await? {
        state.wrong_codes().record(&subject_id, now);
        store
            .record_wrong_code(&token_hash, WRONG_CODES_PER_PENDING_LOGIN)
            .await?;
        audit
            .append(
                AuditActor::anonymous(),
                event(Outcome::Rejected)
                    .resource(&subject_id)
                    .detail("wrong_code"),
                origin,
            )
            .await?;
        return Err(Failure::InvalidCredentials);
    }
    // The code was right; the pending login is used up by exactly one
    // request, so one password step yields at most one session.
    open_after_second_factor(state, &token_hash, pending.subject, surface, origin, device).await
}

/// The end of every second step (TOTP, recovery code, passkey) once the
/// factor was proved: use the pending login up (true for exactly one
/// request), check login is still on, open the session.
pub(crate) async fn open_after_second_factor(
    state: &AppState,
    token_hash: &str,
    subject: LoginSubject,
    surface: SessionSurface,
    origin: &RequestOrigin,
    device: &DeviceKey<'_>,
) -> Result<LoginSuccess, Failure> {
    if !state
        .second_factors()
        .consume_pending_login(token_hash)
        .await?
    {
        return Err(Failure::InvalidCredentials);
    }
    let principal = state
        .sessions()
        .principal(subject)
        .await?
        .ok_or(Failure::InvalidCredentials)?;
    // Switched off between the two steps: no session either.
    if let Some(outage) = login_switched_off(state, &principal) {
        let event = AuditEvent::new(
            Action::LoginSecondFactor,
            ResourceKind::Session,
            Outcome::Rejected,
        )
        .resource(subject.id())
        .detail("service_off");
        state
            .audit_log()
            .append(AuditActor::anonymous(), event, origin)
            .await?;
        return Err(Failure::ServiceOff(outage));
    }
    open_session(state, subject, principal, surface, origin, device).await
}

/// A TOTP code whose time step was not used before (claimed atomically),
/// or an unused recovery code (used up atomically).
pub(crate) async fn code_is_right(
    state: &AppState,
    subject: LoginSubject,
    code: &str,
    now: UnixMillis,
) -> Result<bool, Failure> {
    let store = state.second_factors();
    if recovery::looks_like_recovery_code(code) {
        return Ok(store
            .use_recovery_code(subject, &recovery::hash_code(code), now)
            .await?);
    }
    let Some(factor) = store.totp(subject).await? else {
        return Ok(false);
    };
    let now_secs = u64::try_from(now / 1000).unwrap_or_default();
    let Some(step) = totp::matching_step(&factor.seed, code, now_secs)? else {
        return Ok(false);
    };
    Ok(store.claim_totp_step(&factor.id, step, now).await?)
}

/// Whether the pending token is still waiting (the web form checks it
/// before showing the code field).
pub async fn is_pending(state: &AppState, token: &SecretString) -> Result<bool, Failure> {
    is_pending_for(state, token, PendingPurpose::SecondFactor).await
}

/// Whether the pending token is still waiting for `purpose`.
pub async fn is_pending_for(
    state: &AppState,
    token: &SecretString,
    purpose: PendingPurpose,
) -> Result<bool, Failure> {
    Ok(state
        .second_factors()
        .pending_login(&hash_token(token.expose_secret()), now_millis())
        .await?
        .is_some_and(|p| p.purpose == purpose))
}
