//! WebAuthn passkeys (webauthn-rs): registering one while logged in, and
//! proving one as the second step of a login. Each ceremony's state is
//! kept server-side, bound to the session or pending login that asked for
//! the challenge, and taken out of the store by exactly one finish: a
//! challenge is answered at most once, and a passkey of one account can
//! never finish another account's login (its challenge allows only that
//! account's credentials).

use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::time_util::{UnixMillis, now_millis};
use hippo_store::{CeremonyPurpose, LoginSubject, PasskeySummary, SessionSurface};
use uuid::Uuid;
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse,
};

use crate::auth::device::DeviceKey;
use crate::auth::second_factor::{
    MAX_CODE, WRONG_CODES_PER_PENDING_LOGIN, open_after_second_factor,
};
use crate::auth::session::LoginSuccess;
use crate::auth::token::hash_token;
use crate::error::Failure;
use crate::extract::Authorized;
use crate::state::AppState;

/// How long a challenge may be answered.
pub const CEREMONY_MS: i64 = 5 * 60 * 1000;
/// A passkey's name as its owner gave it.
pub const MAX_NAME_CHARS: usize = 64;

fn caller_subject(caller: &Authorized) -> Result<LoginSubject, Failure> {
    LoginSubject::of(&caller.principal).ok_or(Failure::NotFound)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Failure> {
    serde_json::to_string(value).map_err(Failure::internal)
}

fn from_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, Failure> {
    serde_json::from_str(json).map_err(Failure::internal)
}

async fn audit(
    state: &AppState,
    actor: AuditActor,
    event: AuditEvent,
    origin: &RequestOrigin,
) -> Result<(), Failure> {
    state.audit_log().append(actor, event, origin).await?;
    Ok(())
}

/// The caller's passkeys (names and dates, no key material).
pub async fn list(state: &AppState, caller: &Authorized) -> Result<Vec<PasskeySummary>, Failure> {
    Ok(state.passkeys().list(caller_subject(caller)?).await?)
}

/// Registration, step 1: the options for `navigator.credentials.create`,
/// excluding the caller's registered credentials.
pub async fn start_registration(
    state: &AppState,
    caller: &Authorized,
) -> Result<CreationChallengeResponse, Failure> {
    let subject = caller_subject(caller)?;
    let store = state.passkeys();
    let existing = store
        .credentials(subject)
        .await?
        .iter()
        .map(|p| from_json::<Passkey>(&p.passkey_json).map(|k| k.cred_id().clone()))
        .collect::<Result<Vec<_>, _>>()?;
    // Subject IDs are random UUIDs: usable as the WebAuthn user handle
    // without revealing anything else.
    let user_id: Uuid = subject.id().parse().map_err(|_| Failure::Internal(None))?;
    let name = caller.principal.display_name();
    let (options, registration) = state
        .relying_party()
        .start_passkey_registration(user_id, name, name, Some(existing))
        .map_err(Failure::internal)?;
    let now = now_millis();
    store
        .start_ceremony(
            CeremonyPurpose::Register,
            &hash_token(caller.session_token()),
            subject,
            &to_json(&registration)?,
            now,
            now + CEREMONY_MS,
        )
        .await?;
    Ok(options)
}

/// A passkey name: trimmed, 1 to 64 characters, no control characters.
pub fn passkey_name(raw: &str) -> Result<String, Failure> {
    let name = raw.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Failure::Invalid(format!(
            "name: 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_owned())
}

/// Registration, step 2: the authenticator's answer to this session's
/// latest challenge. The challenge is used up whatever the outcome.
pub async fn finish_registration(
    state: &AppState,
    caller: &Authorized,
    name: &str,
    credential: &RegisterPublicKeyCredential,
) -> Result<PasskeySummary, Failure> {
    let subject = caller_subject(caller)?;
    let name = passkey_name(name)?;
    let actor = AuditActor::of(&caller.principal);
    let event = |outcome| AuditEvent::new(Action::PasskeyRegister, ResourceKind::Passkey, outcome);
    let store = state.passkeys();
    let now = now_millis();
    let Some(registration) = store
        .take_ceremony(
            CeremonyPurpose::Register,
            &hash_token(caller.session_token()),
            subject,
            now,
        )
        .await?
    else {
        let refused = event(Outcome::Rejected).detail("no_challenge");
        audit(state, actor, refused, &caller.origin).await?;
        return Err(Failure::Invalid(
            "no registration challenge is waiting".into(),
        ));
    };
    let registration: PasskeyRegistration = from_json(&registration)?;
    let passkey = match state
        .relying_party()
        .finish_passkey_registration(credential, &registration)
    {
        Ok(passkey) => passkey,
        Err(e) => {
            tracing::info!(error = %e, "passkey registration refused");
            let refused = event(Outcome::Rejected).detail("attestation_refused");
            audit(state, actor, refused, &caller.origin).await?;
            return Err(Failure::Invalid(
                "the authenticator's answer does not match the challenge".into(),
            ));
        }
    };
    let credential_id = hex::encode(passkey.cred_id());
    let Some(id) = store
        .add(subject, &credential_id, &name, &to_json(&passkey)?, now)
        .await?
    else {
        let refused = event(Outcome::Rejected).detail("credential_registered");
        audit(state, actor, refused, &caller.origin).await?;
        return Err(Failure::Conflict(
            "this passkey is registered already".into(),
        ));
    };
    let done = event(Outcome::Success).resource(id.to_string());
    audit(state, actor, done, &caller.origin).await?;
    Ok(PasskeySummary {
        id,
        name,
        created_at: now,
        last_used_at: None,
    })
}

/// Delete one of the caller's passkeys. Another subject's ID answers
/// exactly like an unknown one.
pub async fn delete(state: &AppState, caller: &Authorized, id: Uuid) -> Result<(), Failure> {
    let subject = caller_subject(caller)?;
    let actor = AuditActor::of(&caller.principal);
    let deleted = state.passkeys().delete(subject, id).await?;
    let outcome = if deleted {
        Outcome::Success
    } else {
        Outcome::NotFound
    };
    let event = AuditEvent::new(Action::PasskeyDelete, ResourceKind::Passkey, outcome)
        .resource(id.to_string());
    audit(state, actor, event, &caller.origin).await?;
    if deleted {
        Ok(())
    } else {
        Err(Failure::NotFound)
    }
}

fn login_event(outcome: Outcome) -> AuditEvent {
    AuditEvent::new(Action::LoginSecondFactor, ResourceKind::Session, outcome)
}

fn check_token_length(pending_token: &str) -> Result<(), Failure> {
    if pending_token.len() > MAX_CODE {
        return Err(Failure::BadRequest(
            "the token is at most 64 characters".into(),
        ));
    }
    Ok(())
}

/// Login, step 2 with a passkey, first half: the options for
/// `navigator.credentials.get`, allowing only the pending login's
/// account's passkeys. A newer challenge replaces an older one.
pub async fn start_login(
    state: &AppState,
    pending_token: &str,
    origin: &RequestOrigin,
) -> Result<RequestChallengeResponse, Failure> {
    check_token_length(pending_token)?;
    let token_hash = hash_token(pending_token);
    let now = now_millis();
    let Some(pending) = state
        .second_factors()
        .pending_login(&token_hash, now)
        .await?
    else {
        let refused = login_event(Outcome::Rejected).detail("unknown_pending_login");
        audit(state, AuditActor::anonymous(), refused, origin).await?;
        return Err(Failure::InvalidCredentials);
    };
    let store = state.passkeys();
    let passkeys = store
        .credentials(pending.subject)
        .await?
        .iter()
        .map(|p| from_json::<Passkey>(&p.passkey_json))
        .collect::<Result<Vec<_>, _>>()?;
    if passkeys.is_empty() {
        let refused = login_event(Outcome::Rejected)
            .resource(pending.subject.id())
            .detail("no_passkey");
        audit(state, AuditActor::anonymous(), refused, origin).await?;
        return Err(Failure::InvalidCredentials);
    }
    let (options, authentication) = state
        .relying_party()
        .start_passkey_authentication(&passkeys)
        .map_err(Failure::internal)?;
    store
        .start_ceremony(
            CeremonyPurpose::Login,
            &token_hash,
            pending.subject,
            &to_json(&authentication)?,
            now,
            now + CEREMONY_MS,
        )
        .await?;
    Ok(options)
}

/// Login, step 2 with a passkey, second half: the assertion for the
/// pending login's latest challenge. Signature, origin, RP ID, user
/// verification and the signature counter are checked by webauthn-rs;
/// the challenge is gone after the first finish, right or wrong.
pub async fn finish_login(
    state: &AppState,
    pending_token: &str,
    credential: &PublicKeyCredential,
    surface: SessionSurface,
    origin: &RequestOrigin,
    device: &DeviceKey<'_>,
) -> Result<LoginSuccess, Failure> {
    check_token_length(pending_token)?;
    let anonymous = AuditActor::anonymous;
    let token_hash = hash_token(pending_token);
    let now = now_millis();
    let second_factors = state.second_factors();
    let Some(pending) = second_factors.pending_login(&token_hash, now).await? else {
        let refused = login_event(Outcome::Rejected).detail("unknown_pending_login");
        audit(state, anonymous(), refused, origin).await?;
        return Err(Failure::InvalidCredentials);
    };
    let subject = pending.subject;
    let subject_id = subject.id();
    if state.wrong_codes().blocked(&subject_id, now) {
        let refused = login_event(Outcome::RateLimited).resource(&subject_id);
        audit(state, anonymous(), refused, origin).await?;
        return Err(Failure::RateLimited);
    }
    let store = state.passkeys();
    let Some(authentication) = store
        .take_ceremony(CeremonyPurpose::Login, &token_hash, subject, now)
        .await?
    else {
        let refused = login_event(Outcome::Rejected)
            .resource(&subject_id)
            .detail("passkey_no_challenge");
        audit(state, anonymous(), refused, origin).await?;
        return Err(Failure::InvalidCredentials);
    };
    let authentication: PasskeyAuthentication = from_json(&authentication)?;
    let result = match state
        .relying_party()
        .finish_passkey_authentication(credential, &authentication)
    {
        Ok(result) => result,
        Err(e) => {
            tracing::info!(error = %e, "passkey assertion refused");
            wrong_passkey(state, &token_hash, &subject_id, now).await?;
            let refused = login_event(Outcome::Rejected)
                .resource(&subject_id)
                .detail("passkey_refused");
            audit(state, anonymous(), refused, origin).await?;
            return Err(Failure::InvalidCredentials);
        }
    };
    remember_use(state, subject, &result, now).await?;
    open_after_second_factor(state, &token_hash, subject, surface, origin, device).await
}

async fn wrong_passkey(
    state: &AppState,
    token_hash: &str,
    subject_id: &str,
    now: UnixMillis,
) -> Result<(), Failure> {
    state.wrong_codes().record(subject_id, now);
    state
        .second_factors()
        .record_wrong_code(token_hash, WRONG_CODES_PER_PENDING_LOGIN)
        .await?;
    Ok(())
}

/// Store the new signature counter (so a clone's older counter is
/// refused next time) and when the passkey was used.
async fn remember_use(
    state: &AppState,
    subject: LoginSubject,
    result: &webauthn_rs::prelude::AuthenticationResult,
    now: UnixMillis,
) -> Result<(), Failure> {
    let store = state.passkeys();
    for stored in store.credentials(subject).await? {
        let mut passkey: Passkey = from_json(&stored.passkey_json)?;
        if let Some(changed) = passkey.update_credential(result) {
            let json = if changed {
                Some(to_json(&passkey)?)
            } else {
                None
            };
            store
                .record_use(subject, stored.id, json.as_deref(), now)
                .await?;
            break;
        }
    }
    Ok(())
}
