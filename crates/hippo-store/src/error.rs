//! Storage errors. The HTTP layer maps them to statuses in one place.

use hippo_core::DomainError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// Absent or outside the caller's scope: deliberately one variant.
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A uniqueness rule would be broken (e.g. e-mail already in use).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The audit log could not be written; the operation was not performed
    /// or its result is withheld (fail closed).
    #[error("audit log unavailable: {0}")]
    AuditUnavailable(String),
    /// Stored data that does not parse: a bug or tampering, never user input.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The blob store could not be read or written.
    #[error("blob store: {0}")]
    Blob(String),
    /// No master key for an operation that seals or opens data, or a data
    /// key that does not open (wrong keyring, or crypto-shredded).
    #[error("keys: {0}")]
    Keys(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
}
