//! Opening a session once a login is complete (password, and the second
//! factor where the account has one), and whether login is switched off:
//! shared by both login steps.

use hippo_core::Principal;
use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::switches::{Outage, Service};
use hippo_core::time_util::{UnixMillis, now_millis};
use hippo_store::{LoginSubject, SessionDevice, SessionSurface};
use secrecy::SecretString;

use crate::auth::account_mail;
use crate::auth::device::{DeviceKey, device_hash, session_device};
use crate::auth::token::{hash_token, new_token};
use crate::error::Failure;
use crate::state::AppState;

pub struct LoginSuccess {
    /// The new session token: shown to the client once, never logged.
    pub token: SecretString,
    pub principal: Principal,
    pub expires_at: UnixMillis,
}

/// Open a session for a fully authenticated subject (password, and the
/// second factor where it has one) and audit the login.
pub(crate) async fn open_session(
    state: &AppState,
    subject: LoginSubject,
    principal: Principal,
    surface: SessionSurface,
    origin: &RequestOrigin,
    device: &DeviceKey<'_>,
) -> Result<LoginSuccess, Failure> {
    let token = new_token();
    let now = now_millis();
    let expires_at = now + state.config().session_absolute_timeout.as_millis() as i64;
    let session_device = session_device(origin);
    state
        .sessions()
        .create_session_from(
            &hash_token(&token),
            subject,
            surface,
            now,
            expires_at,
            &session_device,
        )
        .await?;
    tell_of_new_device(state, subject, origin, device, &session_device, now).await?;
    let mut success = AuditEvent::new(Action::Login, ResourceKind::Session, Outcome::Success);
    success.tenant_id = principal.staff_tenant();
    state
        .audit_log()
        .append(AuditActor::of(&principal), success, origin)
        .await?;
    Ok(LoginSuccess {
        token: SecretString::from(token),
        principal,
        expires_at,
    })
}

/// A login from a device the subject has not used before gets a mail
/// (after the second factor: only complete logins count), once per device.
async fn tell_of_new_device(
    state: &AppState,
    subject: LoginSubject,
    origin: &RequestOrigin,
    device: &DeviceKey<'_>,
    session_device: &SessionDevice,
    now: UnixMillis,
) -> Result<(), Failure> {
    let sessions = state.sessions();
    if !sessions
        .remember_device(subject, &device_hash(device, origin), now)
        .await?
    {
        return Ok(());
    }
    let Some(recipient) = sessions.email_of(subject).await? else {
        return Ok(());
    };
    let mail = account_mail::new_device(
        state,
        crate::i18n::Lang::current(),
        subject.id(),
        recipient,
        now,
        session_device,
    );
    sessions.enqueue_account_mail(&mail, now).await?;
    Ok(())
}

/// Whether `login` is off for this principal: staff by their tenant,
/// patients only when it is off for every facility they belong to (their
/// other facilities keep serving them). Operators are never locked out:
/// the console is how a switch is turned back on.
pub(crate) fn login_switched_off(state: &AppState, principal: &Principal) -> Option<Outage> {
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
