//! Domain errors: invalid input and forbidden state transitions. Each has a
//! stable code that the HTTP layer maps to a status in one place.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// Input that does not describe a valid object; the message says which
    /// field and why, and never echoes stored data.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// A status change that the finding's life cycle does not allow.
    #[error("a {from} finding cannot be {attempted}")]
    InvalidTransition {
        from: &'static str,
        attempted: &'static str,
    },
    /// A thread whose status refuses what was asked (messaging): a closed
    /// or retracted thread takes no new messages.
    #[error("a {status} thread {refuses}")]
    ThreadRefuses {
        status: &'static str,
        refuses: &'static str,
    },
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "invalid_input",
            Self::InvalidTransition { .. } | Self::ThreadRefuses { .. } => "invalid_transition",
        }
    }
}
