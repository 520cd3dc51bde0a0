//! Enrolling TOTP: a fresh seed is offered and kept sealed on the server
//! (never in a form field or a cookie); a right code from the person's
//! app confirms it, and only then is it their factor, together with ten
//! new recovery codes shown once. Used by the login of staff and
//! operators without a factor (`/login/enrol`) and by logged-in patients
//! turning TOTP on (`/account/security`).

use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::time_util::{UnixMillis, now_millis};
use hippo_store::{Confirmation, LoginSubject, PendingPurpose, SessionSurface};

use crate::auth::device::DeviceKey;
use crate::auth::recovery;
use crate::auth::second_factor::WRONG_CODES_PER_PENDING_LOGIN;
use crate::auth::session::{LoginSuccess, login_switched_off, open_session};
use crate::auth::token::hash_token;
use crate::auth::totp;
use crate::error::Failure;
use crate::state::AppState;

/// How long an offered seed waits for its first code.
pub const OFFER_MS: i64 = 10 * 60 * 1000;
const MAX_CODE: usize = 64;

/// What the person needs to set up their app. Holds the secret: shown
/// once in the answer that made it, never logged.
pub struct TotpOffer {
    /// The seed in base32, for typing into the app.
    pub secret_base32: String,
    /// The `otpauth://` URI (issuer "Hippo") the QR code carries.
    pub otpauth_uri: String,
    /// The QR code as SVG markup (no image request, no script).
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpOffer(<redacted>)")
    }
}

/// A confirmed enrolment: the recovery codes, shown once.
pub struct Enrolled {
    pub recovery_codes: Vec<String>,
}

/// What a confirmation came to.
pub enum Confirmed {
    Enrolled(Enrolled),
    /// No live offer, or the code is not one of the offered seed.
    WrongCode,
    /// The code was right but another request confirmed first (or the
    /// pending login is gone): nothing stored by this one.
    AlreadyDone,
}

/// Offer a fresh seed to `subject` (replacing an earlier offer).
pub async fn offer(
    state: &AppState,
    subject: LoginSubject,
    account_label: &str,
    qr_title: &str,
) -> Result<TotpOffer, Failure> {
    let seed = totp::new_seed();
    let now = now_millis();
    state
        .second_factors()
        .offer_totp(subject, &seed, now, now + OFFER_MS)
        .await?;
    let otpauth_uri = totp::provisioning_uri(&seed, account_label)?;
    Ok(TotpOffer {
        secret_base32: totp::seed_base32(&seed),
        qr_svg: totp::qr_svg(&otpauth_uri, qr_title)?,
        otpauth_uri,
    })
}

/// Confirm the subject's offer with `code`. A wrong code (or none
/// offered) stores nothing; a right one stores the factor and the codes,
/// using up `pending_token_hash` if given, atomically: of concurrent
/// confirmations exactly one succeeds.
async fn confirm(
    state: &AppState,
    subject: LoginSubject,
    code: &str,
    pending_token_hash: Option<&str>,
    now: UnixMillis,
) -> Result<Confirmed, Failure> {
    let store = state.second_factors();
    let Some(candidate) = store.totp_candidate(subject, now).await? else {
        return Ok(Confirmed::WrongCode);
    };
    let now_secs = u64::try_from(now / 1000).unwrap_or_default();
    let Some(step) = totp::matching_step(&candidate.seed, code, now_secs)? else {
        return Ok(Confirmed::WrongCode);
    };
    let recovery_codes = recovery::new_codes();
    let hashes: Vec<String> = recovery_codes
        .iter()
        .map(|c| recovery::hash_code(c))
        .collect();
    let confirmed = store
        .confirm_totp(
            subject,
            &Confirmation {
                candidate_id: &candidate.id,
                step,
                recovery_code_hashes: &hashes,
                pending_token_hash,
                now,
            },
        )
        .await?;
    Ok(if confirmed {
        Confirmed::Enrolled(Enrolled { recovery_codes })
    } else {
        Confirmed::AlreadyDone
    })
}

fn check_length(token: &str, code: &str) -> Result<(), Failure> {
    if token.len() > MAX_CODE || code.len() > MAX_CODE {
        return Err(Failure::BadRequest(
            "token and code are at most 64 characters".into(),
        ));
    }
    Ok(())
}

/// The subject of a live enrolment login, or an audited refusal.
async fn enrolment_subject(
    state: &AppState,
    token_hash: &str,
    origin: &RequestOrigin,
) -> Result<LoginSubject, Failure> {
    let pending = state
        .second_factors()
        .pending_login(token_hash, now_millis())
        .await?
        .filter(|p| p.purpose == PendingPurpose::Enrolment);
    match pending {
        Some(pending) => Ok(pending.subject),
        None => {
            let event =
                AuditEvent::new(Action::LoginEnrol, ResourceKind::Session, Outcome::Rejected)
                    .detail("unknown_pending_login");
            state
                .audit_log()
                .append(AuditActor::anonymous(), event, origin)
                .await?;
            Err(Failure::InvalidCredentials)
        }
    }
}

/// Login enrolment, step 1: a fresh seed for the pending login's subject.
#[tracing::instrument(skip_all)]
pub async fn start_login_enrolment(
    state: &AppState,
    pending_token: &str,
    qr_title: &str,
    origin: &RequestOrigin,
) -> Result<TotpOffer, Failure> {
    check_length(pending_token, "")?;
    let subject = enrolment_subject(state, &hash_token(pending_token), origin).await?;
    let principal = state
        .sessions()
        .principal(subject)
        .await?
        .ok_or(Failure::InvalidCredentials)?;
    offer(state, subject, principal.display_name(), qr_title).await
}

/// Login enrolment, step 2: the pending token and a code of the offered
/// seed; the session and the recovery codes.
#[tracing::instrument(skip_all)]
pub async fn finish_login_enrolment(
    state: &AppState,
    pending_token: &str,
    code: &str,
    surface: SessionSurface,
    origin: &RequestOrigin,
    device: &DeviceKey<'_>,
) -> Result<(LoginSuccess, Enrolled), Failure> {
    check_length(pending_token, code)?;
    let audit = state.audit_log();
    let event = |outcome| AuditEvent::new(Action::LoginEnrol, ResourceKind::SecondFactor, outcome);
    let token_hash = hash_token(pending_token);
    let subject = enrolment_subject(state, &token_hash, origin).await?;
    let subject_id = subject.id();
    let now = now_millis();
    if state.wrong_codes().blocked(&subject_id, now) {
        let limited = event(Outcome::RateLimited).resource(&subject_id);
        audit
            .append(AuditActor::anonymous(), limited, origin)
            .await?;
        return Err(Failure::RateLimited);
    }
    let principal = state
        .sessions()
        .principal(subject)
        .await?
        .ok_or(Failure::InvalidCredentials)?;
    if let Some(outage) = login_switched_off(state, &principal) {
        let refused = event(Outcome::Rejected)
            .resource(&subject_id)
            .detail("service_off");
        audit
            .append(AuditActor::anonymous(), refused, origin)
            .await?;
        return Err(Failure::ServiceOff(outage));
    }
    let enrolled = match confirm(state, subject, code, Some(&token_hash), now).await? {
        Confirmed::Enrolled(enrolled) => enrolled,
        Confirmed::WrongCode => {
            state.wrong_codes().record(&subject_id, now);
            state
                .second_factors()
                .record_wrong_code(&token_hash, WRONG_CODES_PER_PENDING_LOGIN)
                .await?;
            let rejected = event(Outcome::Rejected)
                .resource(&subject_id)
                .detail("wrong_code");
            audit
                .append(AuditActor::anonymous(), rejected, origin)
                .await?;
            return Err(Failure::InvalidCredentials);
        }
        Confirmed::AlreadyDone => {
            let rejected = event(Outcome::Rejected)
                .resource(&subject_id)
                .detail("already_enrolled");
            audit
                .append(AuditActor::anonymous(), rejected, origin)
                .await?;
            return Err(Failure::InvalidCredentials);
        }
    };
    let mut enrolled_event = event(Outcome::Success)
        .resource(&subject_id)
        .detail("totp_enrolled");
    enrolled_event.tenant_id = principal.staff_tenant();
    audit
        .append(AuditActor::of(&principal), enrolled_event, origin)
        .await?;
    let success = open_session(state, subject, principal, surface, origin, device).await?;
    Ok((success, enrolled))
}

/// A logged-in person confirms their offer (account security page).
pub async fn confirm_own(
    state: &AppState,
    subject: LoginSubject,
    code: &str,
) -> Result<Confirmed, Failure> {
    check_length("", code)?;
    confirm(state, subject, code, None, now_millis()).await
}

/// The offer already waiting for the pending login's subject (shown
/// again after a wrong code, so that the app set up from it still fits).
pub async fn pending_offer(
    state: &AppState,
    pending_token: &str,
    qr_title: &str,
) -> Result<Option<TotpOffer>, Failure> {
    let Some(pending) = state
        .second_factors()
        .pending_login(&hash_token(pending_token), now_millis())
        .await?
        .filter(|p| p.purpose == PendingPurpose::Enrolment)
    else {
        return Ok(None);
    };
    let Some(principal) = state.sessions().principal(pending.subject).await? else {
        return Ok(None);
    };
    current_offer(state, pending.subject, principal.display_name(), qr_title).await
}

/// The subject's waiting offer, rebuilt from its sealed seed.
pub async fn current_offer(
    state: &AppState,
    subject: LoginSubject,
    account_label: &str,
    qr_title: &str,
) -> Result<Option<TotpOffer>, Failure> {
    let Some(candidate) = state
        .second_factors()
        .totp_candidate(subject, now_millis())
        .await?
    else {
        return Ok(None);
    };
    let otpauth_uri = totp::provisioning_uri(&candidate.seed, account_label)?;
    Ok(Some(TotpOffer {
        secret_base32: totp::seed_base32(&candidate.seed),
        qr_svg: totp::qr_svg(&otpauth_uri, qr_title)?,
        otpauth_uri,
    }))
}
