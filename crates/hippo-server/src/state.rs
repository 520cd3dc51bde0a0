//! Shared application state. The store is private to this module: handlers
//! reach data only through the scoped handles that the `Authorized`
//! extractor builds from a verified principal and the policy.

use std::sync::Arc;

use hippo_core::Principal;
use hippo_core::audit::RequestOrigin;
use hippo_core::policy::{AccessGate, Action};
use hippo_core::retrieval::CodeHolder;
use hippo_policy::Policy;
use hippo_store::{
    AuditLog, AuthStore, CodeHolderScope, PasskeyStore, SecondFactorStore, Store,
    UnscopedRetrievalDesk,
};

use crate::auth::lockout::{LockoutPolicy, LoginLockout};
use crate::auth::password::PasswordVerifierPool;
use crate::auth::rate_limit::RetrievalThrottle;
use crate::auth::wrong_codes::WrongCodeThrottle;
use crate::config::ServerConfig;
use crate::error::Failure;
use crate::probing::ProbeDetector;
use crate::scope::Scope;
use crate::switchboard::Switchboard;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    policy: Arc<Policy>,
    config: ServerConfig,
    passwords: PasswordVerifierPool,
    lockout: LoginLockout,
    probes: ProbeDetector,
    switches: Switchboard,
    retrieval_throttle: RetrievalThrottle,
    /// Password reset requests per client address (issue 12).
    reset_throttle: RetrievalThrottle,
    wrong_codes: WrongCodeThrottle,
    relying_party: webauthn_rs::Webauthn,
}

impl AppState {
    pub fn new(
        store: Store,
        config: ServerConfig,
        policy: Policy,
        switches: Switchboard,
    ) -> Result<Self, Failure> {
        let lockout = LoginLockout::new(LockoutPolicy {
            account_failures_per_minute: config.login_attempts_per_account_per_minute,
            attempts_per_client_per_minute: config.login_attempts_per_client_per_minute,
            ..config.login_lockout.clone()
        });
        let probes = ProbeDetector::new(config.not_found_limit, config.not_found_window);
        let retrieval_throttle =
            RetrievalThrottle::new(config.retrieval.attempts_per_client_per_minute);
        let relying_party = crate::auth::relying_party::relying_party(&config.passkey_origin())?;
        Ok(Self {
            inner: Arc::new(Inner {
                relying_party,
                store,
                policy: Arc::new(policy),
                passwords: PasswordVerifierPool::new()?,
                lockout,
                probes,
                switches,
                retrieval_throttle,
                reset_throttle: RetrievalThrottle::new(
                    config.password_reset_requests_per_client_per_minute,
                ),
                wrong_codes: WrongCodeThrottle::default(),
                config,
            }),
        })
    }

    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    pub(crate) fn policy(&self) -> &Arc<Policy> {
        &self.inner.policy
    }

    pub(crate) fn passwords(&self) -> &PasswordVerifierPool {
        &self.inner.passwords
    }

    pub(crate) fn lockout(&self) -> &LoginLockout {
        &self.inner.lockout
    }

    pub(crate) fn probes(&self) -> &ProbeDetector {
        &self.inner.probes
    }

    /// What is switched off now, as this instance last read it.
    pub(crate) fn switches(&self) -> &Switchboard {
        &self.inner.switches
    }

    pub(crate) fn retrieval_throttle(&self) -> &RetrievalThrottle {
        &self.inner.retrieval_throttle
    }

    /// Password reset requests per client address (a GCRA per address).
    pub(crate) fn reset_throttle(&self) -> &RetrievalThrottle {
        &self.inner.reset_throttle
    }

    /// Turns a retrieval code and a date of birth into a code holder.
    pub(crate) fn retrieval_desk(&self) -> UnscopedRetrievalDesk {
        self.inner.store.unscoped_retrieval()
    }

    /// The data handle of a code holder, with the policy gate bound to it
    /// and the action its route declared.
    pub(crate) fn code_holder_scope(
        &self,
        holder: &CodeHolder,
        origin: RequestOrigin,
        declared: Action,
    ) -> CodeHolderScope {
        let gate = self.inner.policy.code_holder_gate(holder);
        self.inner
            .store
            .code_holder_scope(holder, origin, gate, declared)
    }

    pub(crate) fn sessions(&self) -> AuthStore {
        self.inner.store.unscoped_auth()
    }

    /// New staff members accept their invitations (issue 12).
    pub(crate) fn invitations(&self) -> hippo_store::invitations::UnscopedInvitations {
        self.inner.store.unscoped_invitations()
    }

    /// The time zone of `tenant`'s pages; the default one if the tenant
    /// is unknown or the database does not answer (a date shown in the
    /// default zone is better than no page).
    pub(crate) async fn tenant_zone(&self, tenant: hippo_core::TenantId) -> jiff::tz::TimeZone {
        let name = match self.sessions().tenant_time_zone(tenant).await {
            Ok(name) => name,
            Err(e) => {
                tracing::warn!(error = %hippo_store::chain(&e), "tenant time zone unavailable");
                None
            }
        };
        crate::i18n::format::time_zone(
            name.as_deref()
                .unwrap_or(crate::i18n::format::DEFAULT_TIME_ZONE),
        )
    }

    /// TOTP factors, pending logins and recovery codes.
    pub(crate) fn second_factors(&self) -> SecondFactorStore {
        self.inner.store.unscoped_second_factor()
    }

    /// Registered passkeys and the ceremonies in flight.
    pub(crate) fn passkeys(&self) -> PasskeyStore {
        self.inner.store.unscoped_passkeys()
    }

    /// The WebAuthn relying party (origin and RP ID from the config).
    pub(crate) fn relying_party(&self) -> &webauthn_rs::Webauthn {
        &self.inner.relying_party
    }

    pub(crate) fn wrong_codes(&self) -> &WrongCodeThrottle {
        &self.inner.wrong_codes
    }

    pub(crate) fn audit_log(&self) -> AuditLog {
        self.inner.store.audit_log()
    }

    /// The data handle for `p`, decided once by principal kind, with the
    /// policy gate bound to `p` and the action its route declared (which
    /// the scope records every success under).
    pub(crate) fn scope_for(
        &self,
        p: &Principal,
        origin: RequestOrigin,
        gate: Arc<dyn AccessGate>,
        declared: Action,
    ) -> Option<Scope> {
        let store = &self.inner.store;
        match p {
            Principal::Staff { .. } | Principal::LabSystem { .. } => store
                .staff_scope(p, origin, gate, declared)
                .map(Scope::Staff),
            Principal::Patient { .. } => store
                .patient_scope(p, origin, gate, declared, self.switches().snapshot())
                .map(Scope::Patient),
            Principal::Operator { .. } => store
                .operator_scope(p, origin, gate, declared)
                .map(Scope::Operator),
        }
    }
}
