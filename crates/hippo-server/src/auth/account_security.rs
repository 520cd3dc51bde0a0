//! One's own second factors while logged in: what is on, turning TOTP on
//! and off (patients; for staff and operators it is mandatory), and a new
//! set of recovery codes. Every change needs a current code, is throttled
//! like login codes (a stolen session cannot guess one) and is audited.
//! The subject is always the session's own: no route names an account.

use hippo_core::Principal;
use hippo_core::audit::{AuditActor, AuditEvent, Outcome};
use hippo_core::policy::{Action, ResourceKind, ResourceRef};
use hippo_core::time_util::now_millis;
use hippo_store::LoginSubject;

use crate::auth::enrolment::{self, Confirmed, Enrolled, TotpOffer};
use crate::auth::recovery;
use crate::auth::second_factor::{code_is_right, second_factor_mandatory};
use crate::error::Failure;
use crate::extract::Authorized;
use crate::state::AppState;

/// What the security page shows.
#[derive(Debug, Clone, Copy)]
pub struct SecurityStatus {
    pub totp_enabled: bool,
    pub recovery_codes_left: i64,
    /// Staff and operators: the factor cannot be turned off.
    pub factor_mandatory: bool,
}

const MAX_CODE: usize = 64;

fn own_subject(caller: &Authorized) -> Result<LoginSubject, Failure> {
    LoginSubject::of(&caller.principal).ok_or(Failure::Forbidden)
}

/// The policy's word on `action` for the caller's own account; the route
/// table admitted the caller's kind, this is the object decision.
fn permit(caller: &Authorized, action: Action) -> Result<(), Failure> {
    let resource = match (&caller.principal, action) {
        (
            Principal::Patient { account_id, .. },
            Action::AccountTotpEnrol | Action::AccountTotpRemove,
        ) => ResourceRef::Account(*account_id),
        (_, Action::AccountTotpEnrol | Action::AccountTotpRemove) => {
            return Err(Failure::Forbidden);
        }
        _ => ResourceRef::Platform,
    };
    if caller.may(action, &resource) {
        Ok(())
    } else {
        Err(Failure::Forbidden)
    }
}

async fn record(
    state: &AppState,
    caller: &Authorized,
    action: Action,
    outcome: Outcome,
    detail: &str,
) -> Result<(), Failure> {
    let subject = own_subject(caller)?;
    let mut event = AuditEvent::new(action, ResourceKind::SecondFactor, outcome)
        .resource(subject.id())
        .detail(detail);
    event.tenant_id = caller.principal.staff_tenant();
    state
        .audit_log()
        .append(AuditActor::of(&caller.principal), event, &caller.origin)
        .await?;
    Ok(())
}

pub async fn status(state: &AppState, caller: &Authorized) -> Result<SecurityStatus, Failure> {
    permit(caller, Action::AccountSecurityRead)?;
    let subject = own_subject(caller)?;
    let store = state.second_factors();
    Ok(SecurityStatus {
        totp_enabled: store.has_second_factor(subject).await?,
        recovery_codes_left: store.recovery_codes_left(subject).await?,
        factor_mandatory: second_factor_mandatory(&caller.principal),
    })
}

/// A fresh seed for a patient without TOTP.
pub async fn start_totp(
    state: &AppState,
    caller: &Authorized,
    qr_title: &str,
) -> Result<TotpOffer, Failure> {
    permit(caller, Action::AccountTotpEnrol)?;
    let subject = own_subject(caller)?;
    if state.second_factors().has_second_factor(subject).await? {
        return Err(Failure::Conflict("TOTP is already on".into()));
    }
    enrolment::offer(state, subject, caller.principal.display_name(), qr_title).await
}

/// Confirm the offered seed with a code: TOTP on, new recovery codes.
pub async fn finish_totp(
    state: &AppState,
    caller: &Authorized,
    code: &str,
) -> Result<Enrolled, Failure> {
    permit(caller, Action::AccountTotpEnrol)?;
    let subject = own_subject(caller)?;
    throttled(state, caller, Action::AccountTotpEnrol).await?;
    match enrolment::confirm_own(state, subject, code).await? {
        Confirmed::Enrolled(enrolled) => {
            record(
                state,
                caller,
                Action::AccountTotpEnrol,
                Outcome::Success,
                "totp_enrolled",
            )
            .await?;
            Ok(enrolled)
        }
        Confirmed::WrongCode => Err(wrong_code(state, caller, Action::AccountTotpEnrol).await?),
        Confirmed::AlreadyDone => Err(Failure::Conflict("TOTP was turned on already".into())),
    }
}

/// Turn TOTP off with a current code (patients only: staff and operators
/// never lose their last factor this way).
pub async fn remove_totp(state: &AppState, caller: &Authorized, code: &str) -> Result<(), Failure> {
    permit(caller, Action::AccountTotpRemove)?;
    if second_factor_mandatory(&caller.principal) {
        return Err(Failure::Forbidden);
    }
    let subject = own_subject(caller)?;
    require_current_code(state, caller, Action::AccountTotpRemove, subject, code).await?;
    state.second_factors().remove_second_factor(subject).await?;
    record(
        state,
        caller,
        Action::AccountTotpRemove,
        Outcome::Success,
        "totp_removed",
    )
    .await
}

/// A new set of recovery codes (the old set is void), with a current code.
pub async fn renew_recovery_codes(
    state: &AppState,
    caller: &Authorized,
    code: &str,
) -> Result<Vec<String>, Failure> {
    permit(caller, Action::AccountRecoveryCodesRenew)?;
    let subject = own_subject(caller)?;
    require_current_code(
        state,
        caller,
        Action::AccountRecoveryCodesRenew,
        subject,
        code,
    )
    .await?;
    let codes = recovery::new_codes();
    let hashes: Vec<String> = codes.iter().map(|c| recovery::hash_code(c)).collect();
    state
        .second_factors()
        .replace_recovery_codes(subject, &hashes, now_millis())
        .await?;
    record(
        state,
        caller,
        Action::AccountRecoveryCodesRenew,
        Outcome::Success,
        "recovery_codes_renewed",
    )
    .await?;
    Ok(codes)
}

/// A TOTP code (its time step claimed) or an unused recovery code (used
/// up) of the caller's own factor; without a factor there is no code.
async fn require_current_code(
    state: &AppState,
    caller: &Authorized,
    action: Action,
    subject: LoginSubject,
    code: &str,
) -> Result<(), Failure> {
    if code.len() > MAX_CODE {
        return Err(Failure::BadRequest(
            "the code is at most 64 characters".into(),
        ));
    }
    if !state.second_factors().has_second_factor(subject).await? {
        return Err(Failure::Conflict("no second factor is on".into()));
    }
    throttled(state, caller, action).await?;
    if code_is_right(state, subject, code, now_millis()).await? {
        Ok(())
    } else {
        Err(wrong_code(state, caller, action).await?)
    }
}

async fn throttled(state: &AppState, caller: &Authorized, action: Action) -> Result<(), Failure> {
    let subject = own_subject(caller)?;
    if state.wrong_codes().blocked(&subject.id(), now_millis()) {
        record(state, caller, action, Outcome::RateLimited, "wrong_codes").await?;
        return Err(Failure::RateLimited);
    }
    Ok(())
}

/// Count and record a wrong code; the failure to answer with.
async fn wrong_code(
    state: &AppState,
    caller: &Authorized,
    action: Action,
) -> Result<Failure, Failure> {
    let subject = own_subject(caller)?;
    state.wrong_codes().record(&subject.id(), now_millis());
    record(state, caller, action, Outcome::Rejected, "wrong_code").await?;
    // Not 401: the session is fine, the code is not.
    Ok(Failure::Invalid(
        "the code is wrong or was already used".into(),
    ))
}
