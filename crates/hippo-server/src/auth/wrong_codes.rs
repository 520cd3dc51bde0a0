//! Wrong second-factor codes per account: a thief of the password cannot
//! guess a 6-digit code by starting over with new pending logins.

use std::collections::HashMap;
use std::sync::Mutex;

use hippo_core::time_util::UnixMillis;

/// Wrong codes one account takes per window, over all its pending logins:
/// a thief of the password cannot guess a 6-digit code by starting over.
pub const WRONG_CODES_PER_ACCOUNT: usize = 10;
pub const WRONG_CODE_WINDOW_MS: i64 = 15 * 60 * 1000;

/// Wrong codes per account in the recent window (per instance; a pending
/// login's own limit is in the database and holds across instances).
#[derive(Default)]
pub struct WrongCodeThrottle {
    recent: Mutex<HashMap<String, Vec<UnixMillis>>>,
}

impl WrongCodeThrottle {
    pub fn blocked(&self, subject: &str, now: UnixMillis) -> bool {
        let Ok(mut recent) = self.recent.lock() else {
            return true;
        };
        // Forget old entries, so the map stays as small as the window.
        recent.retain(|_, times| {
            times.retain(|t| now - *t < WRONG_CODE_WINDOW_MS);
            !times.is_empty()
        });
        recent
            .get(subject)
            .is_some_and(|times| times.len() >= WRONG_CODES_PER_ACCOUNT)
    }

    pub fn record(&self, subject: &str, now: UnixMillis) {
        if let Ok(mut recent) = self.recent.lock() {
            recent.entry(subject.to_owned()).or_default().push(now);
        }
    }
}
