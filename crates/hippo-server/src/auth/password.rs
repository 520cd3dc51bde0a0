//! Argon2id password hashing on a bounded blocking pool, so that a burst of
//! logins cannot starve the async workers serving other requests.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::Failure;

/// OWASP minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Result<Argon2<'static>, Failure> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| Failure::internal(PasswordHashFailure(e.to_string())))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hash a password (PHC string with a random salt).
pub fn hash(password: &str) -> Result<String, Failure> {
    argon2()?
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Failure::internal(PasswordHashFailure(e.to_string())))
}

/// Verifications waiting or running per hashing worker; a login beyond
/// that is refused at once (429) instead of queueing without bound, so a
/// login flood costs the flood, not everybody else.
const QUEUED_PER_WORKER: usize = 8;

#[derive(Clone)]
pub struct PasswordVerifierPool {
    permits: Arc<Semaphore>,
    queued: Arc<Semaphore>,
    /// Verified against when the e-mail is unknown, so that an unknown
    /// account costs the same time as a wrong password.
    dummy_hash: Arc<str>,
}

impl PasswordVerifierPool {
    pub fn new() -> Result<Self, Failure> {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            permits: Arc::new(Semaphore::new(workers)),
            queued: Arc::new(Semaphore::new(workers * QUEUED_PER_WORKER)),
            dummy_hash: hash("hippo-dummy-password-for-timing")?.into(),
        })
    }

    /// `stored` is `None` for an unknown account; the work done is the same.
    /// `Failure::RateLimited` when the hashing queue is full.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, Failure> {
        let Ok(_queued) = self.queued.try_acquire() else {
            return Err(Failure::RateLimited);
        };
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Failure::internal(PasswordHashFailure(e.to_string())))?;
        let known = stored.is_some();
        let hash = stored.unwrap_or(&self.dummy_hash).to_owned();
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            argon2().is_ok_and(|a| {
                a.verify_password(password.as_bytes(), hash.as_str())
                    .is_ok()
            })
        })
        .await
        .map_err(|e| Failure::internal(PasswordHashFailure(e.to_string())))?;
        Ok(known && matches)
    }
}

/// argon2's error, which implements no `std::error::Error` of its own.
#[derive(Debug, thiserror::Error)]
#[error("password hashing: {0}")]
struct PasswordHashFailure(String);
