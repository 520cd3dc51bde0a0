//! Read models returned by scoped handles, always inside
//! [`Admitted`](crate::Admitted). They are `#[non_exhaustive]`: other
//! crates read their fields but cannot build one.

use hippo_core::finding::{FindingStatus, Observation};
use hippo_core::time_util::UnixMillis;
use hippo_core::{ApiKeyId, FindingId, PatientId, RetrievalCodeId, TenantId};
use time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantKind {
    Lab,
    Practice,
    TestCentre,
}

impl TenantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lab => "lab",
            Self::Practice => "practice",
            Self::TestCentre => "test_centre",
        }
    }
}

/// ```compile_fail
/// // Every field right, and still refused outside the store
/// // (`#[non_exhaustive]`): read models come from scopes only.
/// let forged = hippo_store::PatientRecord {
///     id: hippo_core::PatientId::random(),
///     tenant_id: hippo_core::TenantId::random(),
///     given_name: "Max".into(),
///     family_name: "Schmidt".into(),
///     birth_date: time::macros::date!(1980 - 01 - 01),
///     created_at: 0,
/// };
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PatientRecord {
    pub id: PatientId,
    pub tenant_id: TenantId,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: Date,
    pub created_at: UnixMillis,
}

#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FindingSummary {
    pub id: FindingId,
    pub tenant_id: TenantId,
    /// The facility's name, for the patient's view across facilities.
    pub tenant_name: String,
    pub patient_id: PatientId,
    pub title: String,
    pub status: FindingStatus,
    pub created_at: UnixMillis,
    pub released_at: Option<UnixMillis>,
    pub retracted_at: Option<UnixMillis>,
    pub pdf_size: i64,
    pub abnormal_count: i64,
    /// Released and not yet opened by the patient's account (patient
    /// views only; always false where staff list findings).
    pub is_new: bool,
}

#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FindingDetail {
    pub summary: FindingSummary,
    pub observations: Vec<Observation>,
}

/// One numeric value of an analyte (by code) in one of the patient's own
/// released findings: a point of the analyte's trend.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TrendPoint {
    pub finding_id: FindingId,
    pub tenant_id: TenantId,
    pub patient_id: PatientId,
    pub facility: String,
    /// When the finding was released (the date a patient knows it by).
    pub at: UnixMillis,
    pub code: String,
    pub display: String,
    pub value: f64,
    pub unit: Option<String>,
    pub reference_low: Option<f64>,
    pub reference_high: Option<f64>,
    pub flag: hippo_core::finding::AbnormalFlag,
}

/// A finding's report, opened from its sealed blob.
#[derive(Debug)]
#[non_exhaustive]
pub struct FindingPdf {
    pub summary: FindingSummary,
    pub bytes: Vec<u8>,
}

/// A lab-system key as listed to its tenant's admins: never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: String,
    pub created_at: UnixMillis,
    pub revoked_at: Option<UnixMillis>,
    /// From then on the key is refused (401) and listed as expired.
    pub expires_at: UnixMillis,
    /// The SMART scopes the key was limited to (issue 13); `None`: every
    /// right of a lab system.
    pub scopes: Option<String>,
}

impl ApiKeyRecord {
    pub fn is_expired(&self, now: UnixMillis) -> bool {
        now >= self.expires_at
    }
}

/// Tenant metadata as operators see it: no patient data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantSummary {
    pub id: TenantId,
    pub name: String,
    pub kind: String,
    pub created_at: UnixMillis,
    pub staff_count: i64,
    pub patient_count: i64,
    /// When `hippo tenant delete` removed it (its data key destroyed).
    pub deleted_at: Option<UnixMillis>,
}

/// One access to a patient's data, as the patient sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessEntry {
    /// The audit record's public ID (for its inclusion proof).
    pub id: String,
    /// The patient record the access concerned.
    pub patient_id: PatientId,
    pub at: UnixMillis,
    pub facility: String,
    /// `patient` (the account holder), `clinician`, `tenant_admin`, …
    pub actor_kind: String,
    /// Whether the actor is the account holder.
    pub by_self: bool,
    /// The staff member's name, where the facility allows showing it.
    pub staff_name: Option<String>,
    pub action: String,
    pub resource_kind: String,
    pub resource_id: Option<String>,
    pub outcome: String,
}

/// A retrieval code as its tenant's staff see it: never the code, which
/// is not stored (only its hash is).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetrievalCodeRecord {
    pub id: RetrievalCodeId,
    pub tenant_id: TenantId,
    pub finding_id: FindingId,
    pub patient_id: PatientId,
    pub created_at: UnixMillis,
    pub expires_at: UnixMillis,
    pub revoked_at: Option<UnixMillis>,
    pub max_attempts: i64,
    pub failed_attempts: i64,
    pub last_used_at: Option<UnixMillis>,
    /// The facility's name, for the printed sheet.
    pub facility: String,
}

impl RetrievalCodeRecord {
    /// Wrong dates of birth still allowed before the code locks.
    pub fn attempts_left(&self) -> i64 {
        (self.max_attempts - self.failed_attempts).max(0)
    }
}

/// A staff member as the facility's admin sees them: never the password
/// hash or the second factor's secret, only whether they exist.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StaffMemberRecord {
    pub id: hippo_core::StaffId,
    pub tenant_id: TenantId,
    pub display_name: String,
    pub email: String,
    pub role: hippo_core::StaffRole,
    /// A confirmed second factor (TOTP) is enrolled.
    pub second_factor: bool,
    /// Invited, and no password set yet.
    pub invitation_pending: bool,
    pub last_login_at: Option<UnixMillis>,
    pub deactivated_at: Option<UnixMillis>,
    pub created_at: UnixMillis,
}

/// A facility's settings, as its admin sees and changes them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantSettings {
    pub tenant_id: TenantId,
    /// IANA name (validated by the server before it is stored).
    pub time_zone: String,
}
