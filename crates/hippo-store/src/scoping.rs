//! How scoped handles filter their SQL. In every build the filter is
//! enforced; the test-only `fence-bypass` feature adds a variant that
//! drops it, so tests can show that the policy alone still denies.

#[cfg(all(feature = "fence-bypass", not(debug_assertions)))]
compile_error!("the fence-bypass feature exists for tests only and is refused in release builds");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scoping {
    Enforced,
    #[cfg(feature = "fence-bypass")]
    BypassedForTests,
    /// Incident drill: re-creates the 2021 test-centre bug in one place,
    /// the patient's PDF download, which stops checking the owner.
    #[cfg(feature = "fence-bypass")]
    SafePlayDrill,
}

impl Scoping {
    /// A scoped statement as this scoping runs it. Enforced: the statement
    /// itself, unchanged. The test-only bypass widens every predicate
    /// marked `(…) /* fence */` to `(… OR 1 = 1)`, once per statement.
    pub(crate) fn statement(self, sql: &'static str) -> &'static str {
        match self {
            Self::Enforced => sql,
            #[cfg(feature = "fence-bypass")]
            Self::SafePlayDrill => sql,
            #[cfg(feature = "fence-bypass")]
            Self::BypassedForTests => bypassed(sql),
        }
    }

    /// Whether the drill's missing owner check is active.
    #[cfg(feature = "fence-bypass")]
    pub(crate) fn drill_skips_owner_check(self) -> bool {
        self == Self::SafePlayDrill
    }
}

/// The marker after a fence predicate's closing parenthesis.
#[cfg(feature = "fence-bypass")]
const FENCE: &str = ") /* fence */";

#[cfg(feature = "fence-bypass")]
fn bypassed(sql: &'static str) -> &'static str {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<&'static str, &'static str>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    cache.entry(sql).or_insert_with(|| {
        // Leaked once per statement, in test builds only.
        Box::leak(
            sql.replace(FENCE, " OR 1 = 1) /* fence */")
                .into_boxed_str(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforced_statements_run_as_written() {
        let sql = "SELECT 1 FROM t WHERE (t.tenant_id = $1) /* fence */ AND t.id = $2";
        assert!(std::ptr::eq(Scoping::Enforced.statement(sql), sql));
    }

    #[cfg(feature = "fence-bypass")]
    #[test]
    fn the_bypass_widens_every_fence() {
        let sql = "SELECT 1 FROM t WHERE (t.tenant_id = $1) /* fence */ AND (t.x = $2) /* fence */";
        assert_eq!(
            Scoping::BypassedForTests.statement(sql),
            "SELECT 1 FROM t WHERE (t.tenant_id = $1 OR 1 = 1) /* fence */ AND (t.x = $2 OR 1 = 1) /* fence */"
        );
    }
}
