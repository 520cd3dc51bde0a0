//! Hippo's storage layer.
//!
//! There is no public way to run an arbitrary query. Callers obtain a handle
//! for a principal — [`StaffScope`] or [`PatientScope`] — whose every query
//! carries the tenant and the subject in its SQL (invariant 1), and whose
//! every data access appends an audit record before returning (invariant 5).
//! The unscoped [`Provisioning`] handle exists for seeding and is easy to
//! grep for.
//!
//! Storage never decides policy: each scope carries an `AccessGate` (the
//! Cedar policy bound to the principal) and asks it about every object it
//! loads, before returning it or recording a successful access.

mod actor;
pub mod anomalies;
mod audit;
mod auth;
pub mod blobs;
mod db;
mod error;
pub mod forensics;
pub mod incidents;
mod model;
mod operator_scope;
mod patient_scope;
mod provisioning;
mod queries;
mod rows;
mod scoping;
pub mod sql;
mod staff_scope;
pub mod tree_heads;
pub mod vault;
mod verify;

pub use anomalies::{Alert, Anomalies, AnomalyThresholds};
pub use audit::AuditLog;
pub use auth::{AuthStore, Credentials, LoginSubject, SessionTimes};
pub use db::{Store, StoreOptions};
pub use error::StoreError;
pub use forensics::{AccessPage, BlastRadius, ForensicFilter, Forensics};
pub use model::{
    AccessEntry, ApiKeyRecord, FindingDetail, FindingSummary, PatientRecord, TenantKind,
    TenantSummary,
};
pub use operator_scope::OperatorScope;
pub use patient_scope::PatientScope;
pub use provisioning::{Provisioning, TenantDeletion};
pub use staff_scope::StaffScope;
pub use tree_heads::{HeadIssuer, InclusionProof};
pub use vault::{BlobRef, KeySource, SweepReport, Vault};
pub use verify::VerifyReport;
