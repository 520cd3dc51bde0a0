//! Login throttling per account and per client address (governor's GCRA).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

#[derive(Clone)]
pub struct LoginThrottle {
    per_account: Arc<DefaultKeyedRateLimiter<String>>,
    per_client: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl LoginThrottle {
    pub fn new(per_account_per_minute: u32, per_client_per_minute: u32) -> Self {
        Self {
            per_account: Arc::new(RateLimiter::keyed(per_minute(per_account_per_minute))),
            per_client: Arc::new(RateLimiter::keyed(per_minute(per_client_per_minute))),
        }
    }

    /// Counts one attempt; `false` means refuse it. Both budgets are charged
    /// so an attacker spreading guesses over accounts still hits the
    /// address limit, and one spreading over addresses hits the account's.
    pub fn allow(&self, email: &str, client: Option<IpAddr>) -> bool {
        let account_ok = self
            .per_account
            .check_key(&email.trim().to_lowercase())
            .is_ok();
        let client_ok = client.is_none_or(|ip| self.per_client.check_key(&ip).is_ok());
        account_ok && client_ok
    }
}

/// Retrieval attempts per client address (the per-code limit is counted
/// in the database, across instances).
#[derive(Clone)]
pub struct RetrievalThrottle {
    per_client: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl RetrievalThrottle {
    pub fn new(per_client_per_minute: u32) -> Self {
        Self {
            per_client: Arc::new(RateLimiter::keyed(per_minute(per_client_per_minute))),
        }
    }

    /// Counts one attempt; `false` means refuse it.
    pub fn allow(&self, client: Option<IpAddr>) -> bool {
        client.is_none_or(|ip| self.per_client.check_key(&ip).is_ok())
    }
}
