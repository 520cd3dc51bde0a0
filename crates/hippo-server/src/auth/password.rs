//! Argon2id password hashing on a bounded pool of its own, so that a burst
//! of logins cannot starve the requests of everybody else.
//!
//! The pool's threads run at the lowest CPU priority (nice 19): a hash takes
//! one core for tens of milliseconds, and on a small machine (or a server
//! pinned to one core) reads queued behind it for as long. At nice 19 the
//! scheduler gives request threads the core whenever they want it, and
//! logins get what is left, which under a flood is what they should get.

use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{Semaphore, mpsc, oneshot};

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

/// A verification to run on a hashing thread.
type HashJob = Box<dyn FnOnce() + Send>;

/// Threads that only hash, at the lowest CPU priority; they end when the
/// pool (its sender) is dropped.
fn start_hashing_threads(workers: usize) -> Result<mpsc::UnboundedSender<HashJob>, Failure> {
    let (jobs, queue) = mpsc::unbounded_channel::<HashJob>();
    let queue = Arc::new(Mutex::new(queue));
    for n in 0..workers {
        let queue = queue.clone();
        std::thread::Builder::new()
            .name(format!("hippo-argon2-{n}"))
            .spawn(move || {
                lower_own_priority();
                loop {
                    // One thread waits for the next job at a time.
                    let job = match queue.lock() {
                        Ok(mut queue) => queue.blocking_recv(),
                        Err(_) => None,
                    };
                    match job {
                        Some(job) => job(),
                        None => break,
                    }
                }
            })
            .map_err(|e| Failure::internal(PasswordHashFailure(e.to_string())))?;
    }
    Ok(jobs)
}

/// nice 19 for the calling thread (on Linux the nice value is a thread's,
/// not the process's). If the system refuses, hashing runs at normal
/// priority, as before; that is logged, not fatal.
fn lower_own_priority() {
    if let Err(e) = rustix::process::nice(19) {
        tracing::warn!(error = %e, "cannot lower the priority of a password hashing thread");
    }
}

#[derive(Clone)]
pub struct PasswordVerifierPool {
    jobs: mpsc::UnboundedSender<HashJob>,
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
            jobs: start_hashing_threads(workers)?,
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
        // A job is handed to the threads only when one is about to be
        // free, so a client that gives up while waiting here leaves no
        // hash behind in the channel to be computed for nobody.
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Failure::internal(PasswordHashFailure(e.to_string())))?;
        let known = stored.is_some();
        let hash = stored.unwrap_or(&self.dummy_hash).to_owned();
        let password = password.to_owned();
        let (reply, answer) = oneshot::channel();
        let job: HashJob = Box::new(move || {
            let matches = argon2().is_ok_and(|a| {
                a.verify_password(password.as_bytes(), hash.as_str())
                    .is_ok()
            });
            let _ = reply.send(matches);
        });
        self.jobs
            .send(job)
            .map_err(|e| Failure::internal(PasswordHashFailure(e.to_string())))?;
        let matches = answer
            .await
            .map_err(|e| Failure::internal(PasswordHashFailure(e.to_string())))?;
        Ok(known && matches)
    }
}

impl PasswordVerifierPool {
    /// Hash a new password (an invitation's first password, issue 12) on
    /// the pool's threads, under the same bound as verifications:
    /// `Failure::RateLimited` when the queue is full.
    pub async fn hash_new(&self, password: &str) -> Result<String, Failure> {
        let Ok(_queued) = self.queued.try_acquire() else {
            return Err(Failure::RateLimited);
        };
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Failure::internal(PasswordHashFailure(e.to_string())))?;
        let password = password.to_owned();
        let (reply, answer) = oneshot::channel();
        let job: HashJob = Box::new(move || {
            let _ = reply.send(hash(&password));
        });
        self.jobs
            .send(job)
            .map_err(|e| Failure::internal(PasswordHashFailure(e.to_string())))?;
        answer
            .await
            .map_err(|e| Failure::internal(PasswordHashFailure(e.to_string())))?
    }
}

/// argon2's error, which implements no `std::error::Error` of its own.
#[derive(Debug, thiserror::Error)]
#[error("password hashing: {0}")]
struct PasswordHashFailure(String);

#[cfg(test)]
mod tests {
    use super::*;

    /// The nice value of every thread of this process with `name`, from
    /// `/proc/self/task/*/stat` (field 19, after the parenthesised name).
    fn nice_of_threads_named(name: &str) -> Vec<i64> {
        let mut nices = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let dir = task.unwrap().path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if comm.trim() != name {
                continue;
            }
            let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
            let after_name = &stat[stat.rfind(')').unwrap() + 2..];
            // Fields from the state (3rd) on; nice is the 19th overall.
            let nice = after_name.split(' ').nth(19 - 3).unwrap();
            nices.push(nice.parse().unwrap());
        }
        nices
    }

    #[tokio::test]
    async fn hashing_threads_run_at_the_lowest_priority_and_still_verify() {
        let pool = PasswordVerifierPool::new().unwrap();
        let stored = hash("correct horse").unwrap();
        assert!(pool.verify("correct horse", Some(&stored)).await.unwrap());
        assert!(!pool.verify("wrong", Some(&stored)).await.unwrap());
        assert!(!pool.verify("correct horse", None).await.unwrap());
        let nices = nice_of_threads_named("hippo-argon2-0");
        assert!(!nices.is_empty(), "no hashing thread found");
        assert!(nices.iter().all(|&n| n == 19), "{nices:?}");
    }
}
