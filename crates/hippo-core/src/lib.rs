//! Hippo's domain: identifiers, principals, findings, patients, the access
//! policy and the audit record. Pure data and rules; no I/O, so every rule here
//! is testable without a database or a server.

pub mod audit;
pub mod error;
pub mod file_kind;
pub mod finding;
pub mod forensic_purpose;
pub mod ids;
pub mod messaging;
pub mod patient;
pub mod policy;
pub mod principal;
pub mod retrieval;
pub mod smart_scope;
pub mod switches;
pub mod time_util;

pub use error::DomainError;
pub use ids::{
    AccountId, ApiKeyId, AttachmentId, AuditRecordId, FindingId, MessageId, OperatorId, PatientId,
    RetrievalCodeId, StaffId, TenantId, ThreadId,
};
pub use principal::{PatientLink, Principal, PrincipalKind, StaffRole};
