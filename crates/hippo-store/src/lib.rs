//! Hippo's storage layer.
//!
//! There is no public way to run an arbitrary query. Callers obtain a handle
//! for a principal and a route's declared action — [`StaffScope`],
//! [`PatientScope`] or [`OperatorScope`] — whose every statement carries the
//! tenant or the account as a fence predicate (invariant 1), whose every
//! loaded row is put to the policy gate, and whose every answer is an
//! [`Admitted`] value: recorded in the audit log, under the route's action,
//! before it is returned (invariant 5). The path is in `admission.rs`.
//!
//! Handles that are not scoped to a principal say so in their name
//! (`Store::unscoped_*`, `Unscoped*` types) and are listed, with the reason
//! each may exist, in the README's architecture section.
//!
//! Storage never decides policy: each scope carries an `AccessGate` (the
//! Cedar policy bound to the principal) and asks it about every object it
//! loads, before returning it or recording a successful access.

mod account_sessions;
mod actor;
mod admission;
pub mod anomalies;
mod audit;
mod audit_sqlite;
mod auth;
pub mod blobs;
mod db;
mod error;
pub mod forensics;
pub mod incidents;
pub mod invitations;
mod messaging;
mod model;
mod operator_scope;
pub mod outbox;
pub mod passkeys;
mod password_reset;
mod patient_communications;
mod patient_scope;
mod patient_threads;
pub mod private_files;
mod provisioning;
mod queries;
mod retrieval;
mod rows;
mod scoping;
pub mod search;
pub mod second_factor;
mod secrets;
pub mod sql;
mod staff_scope;
#[cfg(test)]
mod store_for_tests;
pub mod switches;
pub mod totp_enrolment;
pub mod tree_heads;
pub mod vault;
mod verify;

pub use account_sessions::{OwnSession, SessionDevice};
pub use admission::Admitted;
pub use anomalies::{Alert, AnomalyThresholds, ManyPatientsWindow, UnscopedAnomalies};
pub use audit::AuditLog;
pub use auth::{
    AuthStore, Credentials, KeyHolder, LiveSession, LoginSubject, SessionSurface, SessionTimes,
};
pub use db::{Store, StoreOptions};
pub use error::{Cause, StoreError, chain};
pub use forensics::{AccessPage, BlastRadius, ForensicFilter, UnscopedForensics};
pub use messaging::communications::{CommunicationPage, CommunicationRecord, MessageQuery};
pub use messaging::{
    AttachmentFile, AttachmentMeta, InboxFilter, MessageRecord, NewAttachment, PageCursor,
    ThreadDetail, ThreadPage, ThreadSummary, page_limit,
};
pub use model::{
    AccessEntry, ApiKeyRecord, FindingDetail, FindingPdf, FindingSummary, PatientRecord,
    RetrievalCodeRecord, StaffMemberRecord, TenantKind, TenantSettings, TenantSummary, TrendPoint,
};
pub use operator_scope::OperatorScope;
pub use outbox::{ClaimedNotice, Notice, NoticeKind, OutboxCounts, UnscopedOutbox};
pub use passkeys::{CeremonyPurpose, PasskeyStore, PasskeySummary, StoredPasskey};
pub use password_reset::{AccountMail, AccountMailKind, ClaimedAccountMail, ResetSubject};
pub use patient_scope::PatientScope;
pub use provisioning::{TenantDeletion, UnscopedProvisioning};
pub use retrieval::{CodeHolderScope, NewPdfLink, UnscopedRetrievalDesk};
pub use search::{
    FindingPage, FindingQuery, ObservationPage, ObservationRecord, PatientPage, PatientQuery,
};
pub use second_factor::{PendingLogin, PendingPurpose, SecondFactorStore, TotpFactor};
pub use secrets::{BlobOptions, DatabaseUrl};
pub use staff_scope::StaffScope;
pub use staff_scope::{
    INVITATION_VALIDITY_MS, IntakeReceipt, LabIntake, NewRetrievalCode, NewStaffMember,
    PatientMatches, PatientSearch, PreparedIntake, store_hl7_group,
};
pub use switches::{
    ChangeOutcome, PendingSwitchRequest, SwitchChange, SwitchListing, SwitchNotifications,
    SwitchRecord, SwitchState, UnscopedSwitches,
};
pub use totp_enrolment::{Confirmation, TotpCandidate};
pub use tree_heads::{HeadIssuer, InclusionProof};
pub use vault::{BlobRef, KeySource, SealedCredential, SweepReport, Vault};
pub use verify::VerifyReport;
