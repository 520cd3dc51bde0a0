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
    /// `column = ?`, the tenant or subject filter of a statement.
    pub(crate) fn eq(self, column: &str) -> String {
        match self {
            Self::Enforced => format!("{column} = ?"),
            #[cfg(feature = "fence-bypass")]
            Self::BypassedForTests => format!("({column} = ? OR 1 = 1)"),
            #[cfg(feature = "fence-bypass")]
            Self::SafePlayDrill => format!("{column} = ?"),
        }
    }

    /// A whole condition that holds only inside the scope.
    pub(crate) fn condition(self, condition: &str) -> String {
        match self {
            Self::Enforced => condition.to_owned(),
            #[cfg(feature = "fence-bypass")]
            Self::BypassedForTests => format!("(({condition}) OR 1 = 1)"),
            #[cfg(feature = "fence-bypass")]
            Self::SafePlayDrill => condition.to_owned(),
        }
    }

    /// Whether the drill's missing owner check is active.
    pub(crate) fn drill_skips_owner_check(self) -> bool {
        #[cfg(feature = "fence-bypass")]
        if self == Self::SafePlayDrill {
            return true;
        }
        false
    }
}
