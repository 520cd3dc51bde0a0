//! The vocabulary of access decisions: actions, resource kinds, and the
//! resource a decision is about. The decision itself is made by the Cedar
//! policy in `hippo-policy`; storage calls it through [`AccessGate`] after
//! loading an object and before returning or auditing it.

use serde::Serialize;

use crate::finding::FindingStatus;
use crate::ids::{
    AccountId, ApiKeyId, AttachmentId, FindingId, PatientId, RetrievalCodeId, StaffId, TenantId,
    ThreadId,
};
use crate::messaging::ThreadStatus;

/// Everything a route can do. Each route declares exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Anonymous pages and endpoints: login form, API document, assets.
    Public,
    Login,
    /// The second step of a login: a TOTP or recovery code for a pending
    /// login (anonymous: no session exists yet).
    LoginSecondFactor,
    Logout,
    /// Landing page after login.
    ViewHome,
    /// A patient lists their own released findings.
    OwnFindingsList,
    FindingRead,
    FindingPdfDownload,
    PatientList,
    PatientCreate,
    PatientRead,
    PatientFindingsList,
    FindingUpload,
    /// A lab system (or clinical staff) submits an HL7 v2 ORU^R01
    /// message: patient matched or created, one finding per OBR.
    Hl7Intake,
    FindingRelease,
    FindingRetract,
    /// Operators: tenant metadata.
    TenantList,
    ApiKeyList,
    ApiKeyCreate,
    ApiKeyRevoke,
    /// A patient reads who accessed their data.
    AccessLogRead,
    /// A patient fetches the inclusion proof of one access record.
    AccessProofRead,
    /// Operators query the audit log (accesses, blast radius).
    ForensicsQuery,
    /// Operators list security alerts.
    AlertList,
    /// Operators open and update incident records (CLI only).
    IncidentManage,
    /// Operators delete a tenant: its data key is destroyed (CLI only).
    TenantDelete,
    /// Operators re-wrap data keys under a new master key (CLI only).
    KeyRotate,
    // ---- Messaging (issue 11).
    /// Staff: the facility's inbox; patients: their threads everywhere.
    ThreadList,
    /// Start a thread with a first message.
    ThreadCreate,
    /// One thread with its messages (marks the other side's messages read).
    ThreadRead,
    /// Post a message, with attachments, to a thread.
    MessagePost,
    /// Staff: assign a thread to a staff member of the facility, or unassign.
    ThreadAssign,
    ThreadClose,
    /// Staff: withdraw a thread sent by mistake; the patient no longer sees it.
    ThreadRetract,
    AttachmentDownload,
    /// Operators list the service switches (never switched off).
    SwitchList,
    /// Operators turn a service off or on (never switched off).
    SwitchChange,
    // ---- Retrieval codes (issue 11)
    /// Staff issue a retrieval code for one released finding.
    RetrievalCodeIssue,
    /// Staff list a finding's retrieval codes (never the codes).
    RetrievalCodeList,
    RetrievalCodeRevoke,
    /// A code holder opens the code's finding with the date of birth.
    RetrievalRedeem,
    /// A code holder downloads the finding's PDF with a one-time link.
    RetrievalPdfDownload,
    // ---- Facility portal (issue 12)
    /// A tenant admin reads who accessed one patient record of the facility.
    PatientAccessLogRead,
    // ---- Second-factor enrolment and account security (issue 12)
    /// A staff member or operator without a second factor enrols one
    /// during login (anonymous: the pending login is the proof).
    LoginEnrol,
    /// One's own security settings: factors on, recovery codes left.
    AccountSecurityRead,
    /// A patient turns TOTP on (offer a seed, confirm it with a code).
    AccountTotpEnrol,
    /// A patient turns TOTP off with a current code.
    AccountTotpRemove,
    /// A new set of one's own recovery codes, with a current code.
    AccountRecoveryCodesRenew,
    // ---- Staff management and facility settings (issue 12, tenant admins)
    /// The facility's staff members (never password hashes or factors).
    StaffList,
    /// Create a staff member with an invitation mail (no password).
    StaffCreate,
    StaffRoleChange,
    /// Block a member's login and end all their sessions.
    StaffDeactivate,
    StaffReactivate,
    /// A new member sets their first password with an invitation token
    /// (anonymous: the token is the proof).
    InvitationAccept,
    /// The facility's settings (its time zone).
    TenantSettingsRead,
    TenantSettingsChange,
    // ---- Sessions and password reset (issue 12)
    /// One's own live sessions (any principal with a session).
    OwnSessionList,
    /// End one of one's own sessions, or all others.
    OwnSessionRevoke,
    /// Ask for a password reset mail (anonymous; same answer for every
    /// address).
    PasswordResetRequest,
    /// Set a new password with a reset token (anonymous).
    PasswordResetConfirm,
    // ---- Passkeys (issue 12): every principal with a session manages
    // its own WebAuthn passkeys, nobody else's.
    /// List one's own passkeys.
    PasskeyList,
    /// Register a passkey (challenge and finish).
    PasskeyRegister,
    PasskeyDelete,
    // ---- SMART scopes (issue 13)
    /// Mint a token limited to SMART scopes from one's own API session.
    ScopedTokenIssue,
    // ---- FHIR R4 facade (issue 13). Reads of a finding, its values and
    // its document reuse `FindingRead`, the PDF `FindingPdfDownload`, a
    // patient's access history `AccessLogRead`.
    /// A patient record as a FHIR `Patient`: staff of its facility, or the
    /// patient whose account it is linked to.
    FhirPatientRead,
    /// FHIR `Patient?`: staff search their facility's records, patients
    /// list their own.
    FhirPatientSearch,
    /// FHIR `DiagnosticReport?`, `Observation?`, `DocumentReference?`:
    /// findings (and their values) searched by patient, code, date and
    /// status; staff in their facility, patients in their own compartment.
    FhirFindingSearch,
}

/// What kind of object an action touches; recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    None,
    Session,
    Tenant,
    Patient,
    Finding,
    FindingPdf,
    ApiKey,
    AuditRecord,
    Incident,
    Thread,
    Message,
    Attachment,
    ServiceSwitch,
    RetrievalCode,
    /// One's own second factors (TOTP, recovery codes).
    SecondFactor,
    /// A staff member of a facility (issue 12).
    StaffMember,
    Passkey,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Session => "session",
            Self::Tenant => "tenant",
            Self::Patient => "patient",
            Self::Finding => "finding",
            Self::FindingPdf => "finding_pdf",
            Self::ApiKey => "api_key",
            Self::AuditRecord => "audit_record",
            Self::Incident => "incident",
            Self::Thread => "thread",
            Self::Message => "message",
            Self::Attachment => "attachment",
            Self::ServiceSwitch => "service_switch",
            Self::RetrievalCode => "retrieval_code",
            Self::SecondFactor => "second_factor",
            Self::StaffMember => "staff_member",
            Self::Passkey => "passkey",
        }
    }
}

impl Action {
    pub const ALL: [Action; 67] = [
        Self::Public,
        Self::Login,
        Self::LoginSecondFactor,
        Self::Logout,
        Self::ViewHome,
        Self::OwnFindingsList,
        Self::FindingRead,
        Self::FindingPdfDownload,
        Self::PatientList,
        Self::PatientCreate,
        Self::PatientRead,
        Self::PatientFindingsList,
        Self::FindingUpload,
        Self::Hl7Intake,
        Self::FindingRelease,
        Self::FindingRetract,
        Self::TenantList,
        Self::ApiKeyList,
        Self::ApiKeyCreate,
        Self::ApiKeyRevoke,
        Self::AccessLogRead,
        Self::AccessProofRead,
        Self::ForensicsQuery,
        Self::AlertList,
        Self::IncidentManage,
        Self::TenantDelete,
        Self::KeyRotate,
        Self::ThreadList,
        Self::ThreadCreate,
        Self::ThreadRead,
        Self::MessagePost,
        Self::ThreadAssign,
        Self::ThreadClose,
        Self::ThreadRetract,
        Self::AttachmentDownload,
        Self::SwitchList,
        Self::SwitchChange,
        Self::RetrievalCodeIssue,
        Self::RetrievalCodeList,
        Self::RetrievalCodeRevoke,
        Self::RetrievalRedeem,
        Self::RetrievalPdfDownload,
        // Facility portal (issue 12)
        Self::PatientAccessLogRead,
        Self::LoginEnrol,
        Self::AccountSecurityRead,
        Self::AccountTotpEnrol,
        Self::AccountTotpRemove,
        Self::AccountRecoveryCodesRenew,
        // Staff management and settings (issue 12)
        Self::StaffList,
        Self::StaffCreate,
        Self::StaffRoleChange,
        Self::StaffDeactivate,
        Self::StaffReactivate,
        Self::InvitationAccept,
        Self::TenantSettingsRead,
        Self::TenantSettingsChange,
        Self::OwnSessionList,
        Self::OwnSessionRevoke,
        Self::PasswordResetRequest,
        Self::PasswordResetConfirm,
        Self::PasskeyList,
        Self::PasskeyRegister,
        Self::PasskeyDelete,
        Self::ScopedTokenIssue,
        // FHIR facade (issue 13)
        Self::FhirPatientRead,
        Self::FhirPatientSearch,
        Self::FhirFindingSearch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Login => "login",
            Self::LoginSecondFactor => "login_second_factor",
            Self::Logout => "logout",
            Self::ViewHome => "view_home",
            Self::OwnFindingsList => "own_findings_list",
            Self::FindingRead => "finding_read",
            Self::FindingPdfDownload => "finding_pdf_download",
            Self::PatientList => "patient_list",
            Self::PatientCreate => "patient_create",
            Self::PatientRead => "patient_read",
            Self::PatientFindingsList => "patient_findings_list",
            Self::FindingUpload => "finding_upload",
            Self::Hl7Intake => "hl7_intake",
            Self::FindingRelease => "finding_release",
            Self::FindingRetract => "finding_retract",
            Self::TenantList => "tenant_list",
            Self::ApiKeyList => "api_key_list",
            Self::ApiKeyCreate => "api_key_create",
            Self::ApiKeyRevoke => "api_key_revoke",
            Self::AccessLogRead => "access_log_read",
            Self::AccessProofRead => "access_proof_read",
            Self::ForensicsQuery => "forensics_query",
            Self::AlertList => "alert_list",
            Self::IncidentManage => "incident_manage",
            Self::TenantDelete => "tenant_delete",
            Self::KeyRotate => "key_rotate",
            Self::ThreadList => "thread_list",
            Self::ThreadCreate => "thread_create",
            Self::ThreadRead => "thread_read",
            Self::MessagePost => "message_post",
            Self::ThreadAssign => "thread_assign",
            Self::ThreadClose => "thread_close",
            Self::ThreadRetract => "thread_retract",
            Self::AttachmentDownload => "attachment_download",
            Self::SwitchList => "switch_list",
            Self::SwitchChange => "switch_change",
            Self::RetrievalCodeIssue => "retrieval_code_issue",
            Self::RetrievalCodeList => "retrieval_code_list",
            Self::RetrievalCodeRevoke => "retrieval_code_revoke",
            Self::RetrievalRedeem => "retrieval_redeem",
            Self::RetrievalPdfDownload => "retrieval_pdf_download",
            Self::PatientAccessLogRead => "patient_access_log_read",
            Self::LoginEnrol => "login_enrol",
            Self::AccountSecurityRead => "account_security_read",
            Self::AccountTotpEnrol => "account_totp_enrol",
            Self::AccountTotpRemove => "account_totp_remove",
            Self::AccountRecoveryCodesRenew => "account_recovery_codes_renew",
            Self::StaffList => "staff_list",
            Self::StaffCreate => "staff_create",
            Self::StaffRoleChange => "staff_role_change",
            Self::StaffDeactivate => "staff_deactivate",
            Self::StaffReactivate => "staff_reactivate",
            Self::InvitationAccept => "invitation_accept",
            Self::TenantSettingsRead => "tenant_settings_read",
            Self::TenantSettingsChange => "tenant_settings_change",
            Self::OwnSessionList => "own_session_list",
            Self::OwnSessionRevoke => "own_session_revoke",
            Self::PasswordResetRequest => "password_reset_request",
            Self::PasswordResetConfirm => "password_reset_confirm",
            Self::PasskeyList => "passkey_list",
            Self::PasskeyRegister => "passkey_register",
            Self::PasskeyDelete => "passkey_delete",
            Self::ScopedTokenIssue => "scoped_token_issue",
            Self::FhirPatientRead => "fhir_patient_read",
            Self::FhirPatientSearch => "fhir_patient_search",
            Self::FhirFindingSearch => "fhir_finding_search",
        }
    }

    /// Actions that need no session at all. A code holder proves a code
    /// and a date of birth per request instead.
    pub fn is_anonymous(self) -> bool {
        matches!(
            self,
            Self::Public
                | Self::Login
                | Self::LoginSecondFactor
                | Self::LoginEnrol
                | Self::RetrievalRedeem
                | Self::RetrievalPdfDownload
                | Self::InvitationAccept
                | Self::PasswordResetRequest
                | Self::PasswordResetConfirm
        )
    }
}

/// The object of a decision, with exactly the attributes the policy needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceRef {
    /// The portal itself (home page, logout, operator views).
    Platform,
    Tenant(TenantId),
    /// A patient account's own collection (their findings list).
    Account(AccountId),
    Patient {
        tenant: TenantId,
        patient: PatientId,
    },
    Finding {
        tenant: TenantId,
        patient: PatientId,
        finding: FindingId,
        status: FindingStatus,
    },
    FindingPdf {
        tenant: TenantId,
        patient: PatientId,
        finding: FindingId,
        status: FindingStatus,
    },
    ApiKey {
        tenant: TenantId,
        key: ApiKeyId,
    },
    /// A retrieval code of a tenant (its metadata, never the code).
    RetrievalCode {
        tenant: TenantId,
        code: RetrievalCodeId,
    },
    /// A staff member of a tenant (issue 12).
    StaffUser {
        tenant: TenantId,
        staff: StaffId,
    },
    /// An audit record concerning one patient record.
    AuditEntry {
        tenant: TenantId,
        patient: PatientId,
    },
    /// A messaging thread between a facility and one patient record.
    Thread {
        tenant: TenantId,
        patient: PatientId,
        thread: ThreadId,
        status: ThreadStatus,
    },
    /// A message's attachment, judged with the status of its thread.
    Attachment {
        tenant: TenantId,
        patient: PatientId,
        attachment: AttachmentId,
        thread_status: ThreadStatus,
    },
}

/// The policy decision point as seen by a scoped handle: one principal,
/// asked about one action on one loaded object. Deny by default.
pub trait AccessGate: Send + Sync {
    fn permits(&self, action: Action, resource: &ResourceRef) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_unique() {
        let names: std::collections::BTreeSet<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), Action::ALL.len());
    }
}
