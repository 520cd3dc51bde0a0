//! One's own sessions (issue 12), for the API and the page alike: list
//! them, end one by its public ID, end all others. The store matches the
//! caller's own subject in SQL, so the public ID of somebody else's
//! session answers exactly like one that does not exist. Audited.

use hippo_core::audit::{AuditActor, AuditEvent, Outcome};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::time_util::now_millis;
use hippo_store::{LoginSubject, OwnSession, SessionTimes};

use crate::auth::token::hash_token;
use crate::error::Failure;
use crate::extract::Authorized;
use crate::state::AppState;

fn subject_of(caller: &Authorized) -> Result<LoginSubject, Failure> {
    LoginSubject::of(&caller.principal).ok_or(Failure::NotFound)
}

async fn audit(
    state: &AppState,
    caller: &Authorized,
    action: Action,
    outcome: Outcome,
    resource: Option<&str>,
    detail: &str,
) -> Result<(), Failure> {
    let mut event = AuditEvent::new(action, ResourceKind::Session, outcome).detail(detail);
    if let Some(resource) = resource {
        event = event.resource(resource);
    }
    event.tenant_id = caller.principal.staff_tenant();
    state
        .audit_log()
        .append(AuditActor::of(&caller.principal), event, &caller.origin)
        .await?;
    Ok(())
}

pub async fn list(state: &AppState, caller: &Authorized) -> Result<Vec<OwnSession>, Failure> {
    let subject = subject_of(caller)?;
    let times = SessionTimes {
        now: now_millis(),
        idle_timeout_ms: state.config().session_idle_timeout.as_millis() as i64,
    };
    let sessions = state
        .sessions()
        .own_sessions(subject, &hash_token(caller.session_token()), times)
        .await?;
    audit(
        state,
        caller,
        Action::OwnSessionList,
        Outcome::Success,
        None,
        "listed",
    )
    .await?;
    Ok(sessions)
}

/// Whether the ended session was the caller's own current one.
pub async fn revoke(state: &AppState, caller: &Authorized, public_id: &str) -> Result<(), Failure> {
    let subject = subject_of(caller)?;
    let shown: String = public_id.chars().take(64).collect();
    let well_formed = public_id.len() == 32 && public_id.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed
        || !state
            .sessions()
            .revoke_own_session(subject, public_id)
            .await?
    {
        audit(
            state,
            caller,
            Action::OwnSessionRevoke,
            Outcome::NotFound,
            Some(&shown),
            "no_such_own_session",
        )
        .await?;
        return Err(Failure::NotFound);
    }
    audit(
        state,
        caller,
        Action::OwnSessionRevoke,
        Outcome::Success,
        Some(&shown),
        "revoked",
    )
    .await
}

/// End every session of the caller but this one; how many ended.
pub async fn revoke_others(state: &AppState, caller: &Authorized) -> Result<u64, Failure> {
    let subject = subject_of(caller)?;
    let ended = state
        .sessions()
        .revoke_other_sessions(subject, &hash_token(caller.session_token()))
        .await?;
    audit(
        state,
        caller,
        Action::OwnSessionRevoke,
        Outcome::Success,
        None,
        &format!("revoked_others {ended}"),
    )
    .await?;
    Ok(ended)
}
