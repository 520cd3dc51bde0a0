//! Login lockout keyed by account AND source together, so that an attacker
//! guessing one account's password locks out only themselves.
//!
//! Three fences, checked before any password is hashed:
//! - per (account, source) pair: a few free failures, then a growing
//!   backoff (1 s, 2 s, 4 s, ... capped); a success clears the pair;
//! - per source address across accounts: a coarse rate (`governor`);
//! - per account across sources: a generous ceiling on *failures*; past it
//!   a pair gets a single free failure instead of several. The ceiling never
//!   refuses a correct password from a source without failures, so the
//!   owner still gets in from a new address while guessers are slowed.
//!
//! The source is the client address, IPv6 cut to its /64 (one host holds a
//! whole /64). The account is the typed e-mail, normalised, whether or not it
//! exists: the answers cannot tell which accounts exist.
//!
//! State is in memory, per instance, and bounded: pairs and accounts whose
//! last failure is older than `forget_after` are dropped when the table
//! fills. If it is still full, a new pair is not tracked (the coarse
//! per-address rate still holds): an attacker filling memory must not lock
//! every new visitor out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How the lockout behaves (`ServerConfig::login_lockout`).
#[derive(Debug, Clone)]
pub struct LockoutPolicy {
    /// Wrong passwords a pair may make before its backoff starts.
    pub free_failures: u32,
    /// The first wait; each further failure doubles it...
    pub first_backoff: Duration,
    /// ...up to this.
    pub max_backoff: Duration,
    /// Wrong passwords per account and minute, from all sources together,
    /// after which every pair of that account gets one free failure only.
    pub account_failures_per_minute: u32,
    /// Attempts per source address and minute, across accounts.
    pub attempts_per_client_per_minute: u32,
    /// A pair without failures for this long starts afresh.
    pub forget_after: Duration,
    /// Pairs (and accounts) tracked at most.
    pub max_tracked: usize,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(15 * 60),
            account_failures_per_minute: 20,
            attempts_per_client_per_minute: 30,
            forget_after: Duration::from_secs(60 * 60),
            max_tracked: 100_000,
        }
    }
}

/// Where an attempt comes from, as the lockout counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    V4([u8; 4]),
    /// The /64 prefix.
    V6([u8; 8]),
    Unknown,
}

impl Source {
    fn of(client: Option<IpAddr>) -> Self {
        match client.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(v4)) => Self::V4(v4.octets()),
            Some(IpAddr::V6(v6)) => {
                let mut prefix = [0u8; 8];
                prefix.copy_from_slice(&v6.octets()[..8]);
                Self::V6(prefix)
            }
            None => Self::Unknown,
        }
    }
}

type PairKey = (String, Source);

#[derive(Debug, Default)]
struct PairState {
    failures: u32,
    /// Attempts let through whose outcome is not known yet: concurrent
    /// guesses must not all pass as "free".
    pending: u32,
    blocked_until: Option<Instant>,
    last_activity: Option<Instant>,
}

#[derive(Debug)]
struct AccountWindow {
    started: Instant,
    failures: u32,
}

#[derive(Default)]
struct Tables {
    pairs: HashMap<PairKey, PairState>,
    accounts: HashMap<String, AccountWindow>,
}

const ACCOUNT_WINDOW: Duration = Duration::from_secs(60);

/// Why an attempt was refused, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This account from this source is in backoff.
    PairBackoff(Duration),
    /// This source tried too many logins, whatever the account.
    ClientRate(Duration),
}

impl Refusal {
    /// Whole seconds to wait, at least one (for `Retry-After`).
    pub fn retry_after_secs(self) -> u64 {
        let wait = match self {
            Self::PairBackoff(d) | Self::ClientRate(d) => d,
        };
        wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
    }

    /// For the audit record's detail.
    pub fn detail(self) -> &'static str {
        match self {
            Self::PairBackoff(_) => "account_source_backoff",
            Self::ClientRate(_) => "client_rate",
        }
    }
}

#[derive(Clone)]
pub struct LoginLockout {
    policy: LockoutPolicy,
    tables: Arc<Mutex<Tables>>,
    per_client: Arc<DefaultKeyedRateLimiter<Source>>,
}

/// One admitted attempt; report its outcome with [`Attempt::failed`] or
/// [`Attempt::succeeded`]. Dropped unreported (an error, a cancelled
/// request), it counts as neither.
pub struct Attempt {
    lockout: LoginLockout,
    key: Option<PairKey>,
}

fn normalised(email: &str) -> String {
    email.trim().to_lowercase()
}

impl LoginLockout {
    pub fn new(policy: LockoutPolicy) -> Self {
        let per_minute = NonZeroU32::new(policy.attempts_per_client_per_minute.max(1))
            .unwrap_or(NonZeroU32::MIN);
        Self {
            per_client: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
            tables: Arc::new(Mutex::new(Tables::default())),
            policy,
        }
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock leaves counters, not invariants:
        // carry on with them.
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn backoff(&self, beyond_free: u32) -> Duration {
        let factor = 1u32.checked_shl(beyond_free).unwrap_or(u32::MAX);
        self.policy
            .first_backoff
            .saturating_mul(factor)
            .min(self.policy.max_backoff)
    }

    /// Admit or refuse one attempt of `email` from `client`. Called before
    /// the password is checked; the admitted attempt must report back.
    pub fn admit(&self, email: &str, client: Option<IpAddr>) -> Result<Attempt, Refusal> {
        let source = Source::of(client);
        if source != Source::Unknown
            && let Err(not_until) = self.per_client.check_key(&source)
        {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(Refusal::ClientRate(wait));
        }
        let account = normalised(email);
        let now = Instant::now();
        let mut tables = self.tables();
        let free = self.free_failures(&mut tables, &account, now);
        let key = (account, source);
        if !tables.pairs.contains_key(&key) && !self.make_room(&mut tables, now) {
            return Ok(Attempt {
                lockout: self.clone(),
                key: None,
            });
        }
        let pair = tables.pairs.entry(key.clone()).or_default();
        if let Some(until) = pair.blocked_until
            && until > now
        {
            return Err(Refusal::PairBackoff(until - now));
        }
        if pair.failures + pair.pending >= free {
            // In backoff: one attempt at a time, and the next one waits
            // as if this one fails (a success clears the pair).
            if pair.pending > 0 {
                return Err(Refusal::PairBackoff(self.policy.first_backoff));
            }
            let beyond = (pair.failures + 1).saturating_sub(free);
            pair.blocked_until = Some(now + self.backoff(beyond));
        }
        pair.pending += 1;
        pair.last_activity = Some(now);
        Ok(Attempt {
            lockout: self.clone(),
            key: Some(key),
        })
    }

    /// Free failures per pair for this account now: fewer once the
    /// account's failures from all sources pass the ceiling.
    fn free_failures(&self, tables: &mut Tables, account: &str, now: Instant) -> u32 {
        let over_ceiling = tables.accounts.get(account).is_some_and(|w| {
            now.duration_since(w.started) < ACCOUNT_WINDOW
                && w.failures >= self.policy.account_failures_per_minute
        });
        if over_ceiling {
            1
        } else {
            self.policy.free_failures.max(1)
        }
    }

    /// Drop forgotten entries when the table is full; `false` if still full.
    fn make_room(&self, tables: &mut Tables, now: Instant) -> bool {
        if tables.pairs.len() < self.policy.max_tracked {
            return true;
        }
        let forget = self.policy.forget_after;
        tables.pairs.retain(|_, p| {
            p.pending > 0
                || p.blocked_until.is_some_and(|u| u > now)
                || p.last_activity
                    .is_some_and(|t| now.duration_since(t) < forget)
        });
        tables
            .accounts
            .retain(|_, w| now.duration_since(w.started) < ACCOUNT_WINDOW);
        tables.pairs.len() < self.policy.max_tracked
    }

    fn resolve(&self, key: &PairKey, failed: bool) {
        let now = Instant::now();
        let mut tables = self.tables();
        if failed {
            let track_account = tables.accounts.contains_key(&key.0)
                || tables.accounts.len() < self.policy.max_tracked;
            if track_account {
                let window = tables
                    .accounts
                    .entry(key.0.clone())
                    .or_insert(AccountWindow {
                        started: now,
                        failures: 0,
                    });
                if now.duration_since(window.started) >= ACCOUNT_WINDOW {
                    *window = AccountWindow {
                        started: now,
                        failures: 0,
                    };
                }
                window.failures = window.failures.saturating_add(1);
            }
        }
        let free = self.free_failures(&mut tables, &key.0, now);
        let Some(pair) = tables.pairs.get_mut(key) else {
            return;
        };
        pair.pending = pair.pending.saturating_sub(1);
        if !failed {
            return;
        }
        pair.failures = pair.failures.saturating_add(1);
        pair.last_activity = Some(now);
        if pair.failures >= free {
            let until = now + self.backoff(pair.failures - free);
            pair.blocked_until = Some(pair.blocked_until.map_or(until, |u| u.max(until)));
        }
    }

    fn clear(&self, key: &PairKey) {
        self.tables().pairs.remove(key);
    }
}

impl Attempt {
    /// A wrong password (or an unknown account): counts towards backoff.
    pub fn failed(mut self) {
        if let Some(key) = self.key.take() {
            self.lockout.resolve(&key, true);
        }
    }

    /// The right password: the pair starts afresh.
    pub fn succeeded(mut self) {
        if let Some(key) = self.key.take() {
            self.lockout.clear(&key);
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.lockout.resolve(&key, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lockout() -> LoginLockout {
        LoginLockout::new(LockoutPolicy {
            free_failures: 3,
            first_backoff: Duration::from_secs(60),
            account_failures_per_minute: 1000,
            attempts_per_client_per_minute: 1000,
            ..LockoutPolicy::default()
        })
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn lockout_blocks_only_the_failing_pair() {
        let l = lockout();
        for _ in 0..3 {
            l.admit("Max@x.de", ip("10.0.0.9")).unwrap().failed();
        }
        let refused = l.admit(" max@X.de ", ip("10.0.0.9")).err().unwrap();
        assert!(matches!(refused, Refusal::PairBackoff(_)));
        assert!(refused.retry_after_secs() >= 59);
        // The same account from elsewhere, another account from here: free.
        assert!(l.admit("max@x.de", ip("10.0.0.10")).is_ok());
        assert!(l.admit("eva@x.de", ip("10.0.0.9")).is_ok());
    }

    #[test]
    fn lockout_backoff_grows_and_is_capped() {
        let l = lockout();
        assert_eq!(l.backoff(0), Duration::from_secs(60));
        assert_eq!(l.backoff(3), Duration::from_secs(480));
        assert_eq!(l.backoff(40), Duration::from_secs(15 * 60));
    }

    #[test]
    fn lockout_concurrent_attempts_do_not_all_pass_as_free() {
        let l = lockout();
        let held: Vec<_> = (0..3)
            .map(|_| l.admit("max@x.de", ip("10.0.0.9")).unwrap())
            .collect();
        // Three guesses in flight use up the free ones: a fourth waits.
        assert!(l.admit("max@x.de", ip("10.0.0.9")).is_err());
        drop(held);
        assert!(l.admit("max@x.de", ip("10.0.0.9")).is_ok());
    }

    #[test]
    fn lockout_success_clears_the_pair() {
        let l = lockout();
        for _ in 0..2 {
            l.admit("max@x.de", ip("10.0.0.9")).unwrap().failed();
        }
        l.admit("max@x.de", ip("10.0.0.9")).unwrap().succeeded();
        for _ in 0..2 {
            l.admit("max@x.de", ip("10.0.0.9")).unwrap().failed();
        }
        assert!(l.admit("max@x.de", ip("10.0.0.9")).is_ok());
    }

    #[test]
    fn lockout_ipv6_counts_per_64_prefix() {
        let l = lockout();
        for host in 1..=3 {
            l.admit("max@x.de", ip(&format!("2001:db8::{host}")))
                .unwrap()
                .failed();
        }
        assert!(l.admit("max@x.de", ip("2001:db8::ff")).is_err());
        assert!(l.admit("max@x.de", ip("2001:db8:0:1::1")).is_ok());
    }

    #[test]
    fn lockout_account_ceiling_leaves_one_free_failure_per_new_pair() {
        let l = LoginLockout::new(LockoutPolicy {
            free_failures: 3,
            first_backoff: Duration::from_secs(60),
            account_failures_per_minute: 4,
            attempts_per_client_per_minute: 1000,
            ..LockoutPolicy::default()
        });
        for n in 0..4 {
            l.admit("max@x.de", ip(&format!("10.0.1.{n}")))
                .unwrap()
                .failed();
        }
        // A new source: its first attempt passes (the owner's correct
        // password would), a failure then blocks it at once.
        l.admit("max@x.de", ip("10.0.2.1")).unwrap().failed();
        assert!(l.admit("max@x.de", ip("10.0.2.1")).is_err());
        assert!(l.admit("max@x.de", ip("10.0.2.2")).is_ok());
    }

    #[test]
    fn lockout_table_is_bounded() {
        let l = LoginLockout::new(LockoutPolicy {
            max_tracked: 10,
            attempts_per_client_per_minute: 1000,
            ..LockoutPolicy::default()
        });
        for n in 0..50 {
            l.admit(&format!("u{n}@x.de"), ip("10.0.0.1"))
                .unwrap()
                .failed();
        }
        assert!(l.tables().pairs.len() <= 10);
        assert!(l.tables().accounts.len() <= 10);
    }
}
