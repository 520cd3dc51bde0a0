//! Storage errors. The HTTP layer maps them to statuses in one place.

use hippo_core::DomainError;
use thiserror::Error;

/// The error underneath a store error: shared, because one failed group
/// commit answers every request that waited for it.
pub type Cause = std::sync::Arc<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Error)]
pub enum StoreError {
    /// Absent or outside the caller's scope: deliberately one variant.
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A retrieval code (or its one-time PDF link) was refused; the
    /// refusal is recorded.
    #[error("retrieval refused: {0}")]
    Retrieval(hippo_core::retrieval::RetrievalRefusal),
    /// A uniqueness rule would be broken (e.g. e-mail already in use).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The audit log could not be written; the operation was not performed
    /// or its result is withheld (fail closed).
    #[error("audit log unavailable: {reason}")]
    AuditUnavailable {
        reason: &'static str,
        #[source]
        cause: Option<Cause>,
    },
    /// Stored data that does not parse: a bug or tampering, never user input.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A blob the database refers to is missing or broken, or the blob
    /// store is misconfigured.
    #[error("blob store: {what}")]
    Blob {
        what: String,
        #[source]
        cause: Option<Cause>,
    },
    /// The blob store cannot be reached or written just now.
    #[error("blob store unavailable")]
    BlobUnavailable(#[source] Cause),
    /// No master key for an operation that seals or opens data, or a data
    /// key that does not open (wrong keyring, or crypto-shredded).
    #[error("keys: {what}")]
    Keys {
        what: String,
        #[source]
        cause: Option<Cause>,
    },
    /// More work than the server takes on right now (a queue full, no
    /// pooled connection in time): shed with 503 and Retry-After.
    #[error("overloaded: {0}")]
    Overloaded(&'static str),
    /// The database cannot be reached or written just now (stopped,
    /// read-only, disk full); the request changed nothing.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// A handler called an operation that does not serve its route's
    /// declared action: a wiring bug, refused before any data is read.
    #[error("operation does not serve the route's declared action {declared}")]
    Misrouted { declared: &'static str },
    /// The service this request belongs to is switched off for the
    /// object's tenant; nothing was served or recorded as served.
    #[error("service {} is switched off ({})", .0.service, .0.scope)]
    ServiceOff(hippo_core::switches::Outage),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub(crate) fn audit(reason: &'static str, cause: impl Into<Option<Cause>>) -> Self {
        Self::AuditUnavailable {
            reason,
            cause: cause.into(),
        }
    }

    pub(crate) fn blob(what: impl Into<String>, cause: impl Into<Option<Cause>>) -> Self {
        Self::Blob {
            what: what.into(),
            cause: cause.into(),
        }
    }

    pub(crate) fn keys(what: impl Into<String>, cause: impl Into<Option<Cause>>) -> Self {
        Self::Keys {
            what: what.into(),
            cause: cause.into(),
        }
    }

    /// For an insert that a uniqueness rule guards: a violation becomes the
    /// conflict the caller caused (`message`), not a database failure. The
    /// check before the insert answers the common case; this answers the
    /// race in which two requests both passed the check (PostgreSQL).
    pub(crate) fn unique_as(message: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |error| match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(message.into())
            }
            _ => error.into(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut => Self::Overloaded("no database connection in time"),
            sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
                Self::Unavailable(error)
            }
            sqlx::Error::Database(db) if is_transient_database_error(db.code().as_deref()) => {
                Self::Unavailable(error)
            }
            _ => Self::Database(error),
        }
    }
}

/// Any error as a shared cause.
pub(crate) fn cause(error: impl std::error::Error + Send + Sync + 'static) -> Cause {
    std::sync::Arc::new(error)
}

/// Database errors that end when the fault does, not bugs: SQLite's busy,
/// read-only, I/O, disk-full and cannot-open codes (primary code in the low
/// byte of the extended code), PostgreSQL's connection, resource and
/// operator-intervention classes (08, 53, 57).
fn is_transient_database_error(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    if let Ok(sqlite) = code.parse::<u32>() {
        return matches!(sqlite & 0xff, 5 | 6 | 8 | 10 | 13 | 14);
    }
    ["08", "53", "57"]
        .iter()
        .any(|class| code.starts_with(class))
}

/// An error with every cause under it, `outer: inner: innermost`, for the
/// one log line that reports it.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut shown = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        shown.push_str(": ");
        shown.push_str(&cause.to_string());
        next = cause.source();
    }
    shown
}
