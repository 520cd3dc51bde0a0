//! Shared application state. The store is private to this module: handlers
//! reach data only through the scoped handles that the `Authorized`
//! extractor builds from a verified principal.

use std::sync::Arc;

use hippo_core::Principal;
use hippo_core::audit::RequestOrigin;
use hippo_store::{AuditLog, AuthStore, PatientScope, StaffScope, Store};

use crate::auth::password::PasswordVerifierPool;
use crate::auth::rate_limit::LoginThrottle;
use crate::config::ServerConfig;
use crate::error::Failure;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: ServerConfig,
    passwords: PasswordVerifierPool,
    throttle: LoginThrottle,
}

impl AppState {
    pub fn new(store: Store, config: ServerConfig) -> Result<Self, Failure> {
        let throttle = LoginThrottle::new(
            config.login_attempts_per_account_per_minute,
            config.login_attempts_per_client_per_minute,
        );
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                passwords: PasswordVerifierPool::new()?,
                throttle,
                config,
            }),
        })
    }

    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    pub(crate) fn passwords(&self) -> &PasswordVerifierPool {
        &self.inner.passwords
    }

    pub(crate) fn throttle(&self) -> &LoginThrottle {
        &self.inner.throttle
    }

    pub(crate) fn sessions(&self) -> AuthStore {
        self.inner.store.auth()
    }

    pub(crate) fn audit_log(&self) -> AuditLog {
        self.inner.store.audit_log()
    }

    pub(crate) fn staff_scope(&self, p: &Principal, origin: RequestOrigin) -> Option<StaffScope> {
        self.inner.store.staff_scope(p, origin)
    }

    pub(crate) fn patient_scope(
        &self,
        p: &Principal,
        origin: RequestOrigin,
    ) -> Option<PatientScope> {
        self.inner.store.patient_scope(p, origin)
    }
}
