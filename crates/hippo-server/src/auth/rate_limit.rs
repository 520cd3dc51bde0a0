//! Retrieval throttling per client address (governor's GCRA). Logins
//! are throttled by account and source together in `auth::lockout`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
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
