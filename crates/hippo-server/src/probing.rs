//! Anti-enumeration: a principal that produces many not-found answers in a
//! short window is probing for IDs. Hand-rolled because it is core to Hippo
//! (and tiny): a sliding window of not-found timestamps per actor.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct ProbeDetector {
    limit: usize,
    window: Duration,
    misses: Arc<Mutex<HashMap<String, VecDeque<Instant>>>>,
}

impl ProbeDetector {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit as usize,
            window,
            misses: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn prune(queue: &mut VecDeque<Instant>, now: Instant, window: Duration) {
        while queue
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            queue.pop_front();
        }
    }

    /// Record one not-found answer for `actor`.
    pub fn record_miss(&self, actor: &str) {
        let now = Instant::now();
        if let Ok(mut misses) = self.misses.lock() {
            let queue = misses.entry(actor.to_owned()).or_default();
            Self::prune(queue, now, self.window);
            queue.push_back(now);
            // Bound memory under a flood of distinct actors.
            if misses.len() > 100_000 {
                let window = self.window;
                misses.retain(|_, q| {
                    Self::prune(q, now, window);
                    !q.is_empty()
                });
            }
        }
    }

    /// Whether `actor` has used up its not-found budget in the window.
    pub fn is_probing(&self, actor: &str) -> bool {
        let now = Instant::now();
        match self.misses.lock() {
            Ok(mut misses) => misses.get_mut(actor).is_some_and(|q| {
                Self::prune(q, now, self.window);
                q.len() >= self.limit
            }),
            // A poisoned lock means a panic elsewhere; refuse rather than
            // let probing through.
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_at_the_limit_and_only_for_that_actor() {
        let d = ProbeDetector::new(3, Duration::from_secs(60));
        for _ in 0..2 {
            d.record_miss("a");
        }
        assert!(!d.is_probing("a"));
        d.record_miss("a");
        assert!(d.is_probing("a"));
        assert!(!d.is_probing("b"));
    }

    #[test]
    fn forgets_after_the_window() {
        let d = ProbeDetector::new(1, Duration::from_millis(0));
        d.record_miss("a");
        assert!(!d.is_probing("a"));
    }
}
