//! What every route is, apart from how it is served: method, path, the
//! action it performs, the resource kind it touches and the principal kinds
//! that may call it at all. The extractor, the policy check at start-up and
//! the tests read these declarations without building a handler; only the
//! app builder (`routes.rs`) maps them to handlers.

use hippo_core::PrincipalKind;
use hippo_core::policy::{Action, ResourceKind};

/// Which face of Hippo a route belongs to; decides how failures render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Api,
    Web,
    /// The FHIR R4 facade (`/fhir/r4`): bearer tokens like the API,
    /// failures as `OperationOutcome`.
    Fhir,
}

impl Surface {
    /// The surface a path belongs to, for routes and for answers given
    /// before (or without) a route: load shedding, unknown paths.
    pub fn of_path(path: &str) -> Self {
        if path.starts_with("/api/") {
            Self::Api
        } else if path == "/fhir/r4" || path.starts_with("/fhir/") {
            Self::Fhir
        } else {
            Self::Web
        }
    }
}

/// Whether a route addresses one object (by ID) or a collection. Role
/// denials on item routes answer 404, exactly like a missing object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Collection,
    Item,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub action: Action,
    pub resource: ResourceKind,
    /// The principal kinds that may call the route at all (empty for
    /// anonymous routes). Checked against the Cedar policy at start-up.
    pub allowed: &'static [PrincipalKind],
    pub surface: Surface,
    pub target: Target,
}

use PrincipalKind::{Assistant, Clinician, LabSystem, Operator, Patient, TenantAdmin};

pub const ANONYMOUS: &[PrincipalKind] = &[];
pub const WITH_SESSION: &[PrincipalKind] = &[Operator, TenantAdmin, Clinician, Assistant, Patient];
pub const STAFF: &[PrincipalKind] = &[TenantAdmin, Clinician, Assistant];
pub const CLINICAL: &[PrincipalKind] = &[Clinician, Assistant];
pub const SUBMITTERS: &[PrincipalKind] = &[Clinician, Assistant, LabSystem];
pub const READERS: &[PrincipalKind] = &[TenantAdmin, Clinician, Assistant, Patient];
pub const PATIENTS: &[PrincipalKind] = &[Patient];
pub const ADMINS: &[PrincipalKind] = &[TenantAdmin];
pub const OPERATORS: &[PrincipalKind] = &[Operator];
/// Who writes messages: clinical staff and patients.
pub const CORRESPONDENTS: &[PrincipalKind] = &[Clinician, Assistant, Patient];

type Row = (
    &'static str,
    &'static str,
    Action,
    ResourceKind,
    &'static [PrincipalKind],
);

/// Every route Hippo serves, declared once.
#[rustfmt::skip]
const ROUTES: &[Row] = {
    use Action as A;
    use ResourceKind as R;
    &[
        // JSON API
        ("POST", "/api/v1/auth/login", A::Login, R::Session, ANONYMOUS),
        ("POST", "/api/v1/auth/login/second-factor", A::LoginSecondFactor, R::Session, ANONYMOUS),
        ("POST", "/api/v1/auth/logout", A::Logout, R::Session, WITH_SESSION),
        ("GET", "/api/v1/findings", A::OwnFindingsList, R::Finding, PATIENTS),
        ("GET", "/api/v1/findings/{id}", A::FindingRead, R::Finding, READERS),
        ("GET", "/api/v1/findings/{id}/pdf", A::FindingPdfDownload, R::FindingPdf, READERS),
        ("POST", "/api/v1/findings/{id}/release", A::FindingRelease, R::Finding, CLINICAL),
        ("POST", "/api/v1/findings/{id}/retract", A::FindingRetract, R::Finding, CLINICAL),
        ("GET", "/api/v1/patients", A::PatientList, R::Patient, STAFF),
        ("POST", "/api/v1/patients", A::PatientCreate, R::Patient, STAFF),
        ("GET", "/api/v1/patients/{id}", A::PatientRead, R::Patient, STAFF),
        ("GET", "/api/v1/patients/{id}/findings", A::PatientFindingsList, R::Patient, STAFF),
        ("POST", "/api/v1/patients/{id}/findings", A::FindingUpload, R::Finding, SUBMITTERS),
        // HL7 v2 intake (issue 13): the body is one ORU^R01 message.
        ("POST", "/api/v1/hl7/oru", A::Hl7Intake, R::Finding, SUBMITTERS),
        ("GET", "/api/v1/api-keys", A::ApiKeyList, R::ApiKey, ADMINS),
        ("POST", "/api/v1/api-keys", A::ApiKeyCreate, R::ApiKey, ADMINS),
        ("POST", "/api/v1/api-keys/{id}/revoke", A::ApiKeyRevoke, R::ApiKey, ADMINS),
        ("GET", "/api/v1/tenants", A::TenantList, R::Tenant, OPERATORS),
        ("GET", "/api/v1/forensics/accesses", A::ForensicsQuery, R::AuditRecord, OPERATORS),
        ("GET", "/api/v1/forensics/blast-radius", A::ForensicsQuery, R::AuditRecord, OPERATORS),
        ("GET", "/api/v1/alerts", A::AlertList, R::AuditRecord, OPERATORS),
        ("GET", "/api/v1/access-log", A::AccessLogRead, R::AuditRecord, PATIENTS),
        ("GET", "/api/v1/access-log/{id}/proof", A::AccessProofRead, R::AuditRecord, PATIENTS),
        ("GET", "/api/v1/openapi.json", A::Public, R::None, ANONYMOUS),
        // Messaging (issue 11)
        ("GET", "/api/v1/threads", A::ThreadList, R::Thread, READERS),
        ("POST", "/api/v1/threads", A::ThreadCreate, R::Thread, CORRESPONDENTS),
        ("GET", "/api/v1/threads/{id}", A::ThreadRead, R::Thread, READERS),
        ("POST", "/api/v1/threads/{id}/messages", A::MessagePost, R::Message, CORRESPONDENTS),
        ("POST", "/api/v1/threads/{id}/assign", A::ThreadAssign, R::Thread, CLINICAL),
        ("POST", "/api/v1/threads/{id}/close", A::ThreadClose, R::Thread, CLINICAL),
        ("POST", "/api/v1/threads/{id}/retract", A::ThreadRetract, R::Thread, CLINICAL),
        ("GET", "/api/v1/attachments/{id}", A::AttachmentDownload, R::Attachment, READERS),
        // Browser UI
        ("GET", "/", A::ViewHome, R::None, WITH_SESSION),
        ("GET", "/login", A::Public, R::None, ANONYMOUS),
        ("POST", "/login", A::Login, R::Session, ANONYMOUS),
        ("GET", "/login/second-factor", A::Public, R::None, ANONYMOUS),
        ("POST", "/login/second-factor", A::LoginSecondFactor, R::Session, ANONYMOUS),
        ("POST", "/logout", A::Logout, R::Session, WITH_SESSION),
        ("GET", "/findings", A::OwnFindingsList, R::Finding, PATIENTS),
        ("GET", "/findings/{id}", A::FindingRead, R::Finding, READERS),
        ("GET", "/findings/{id}/pdf", A::FindingPdfDownload, R::FindingPdf, READERS),
        ("POST", "/findings/{id}/release", A::FindingRelease, R::Finding, CLINICAL),
        ("POST", "/findings/{id}/retract", A::FindingRetract, R::Finding, CLINICAL),
        ("GET", "/patients", A::PatientList, R::Patient, STAFF),
        ("POST", "/patients", A::PatientCreate, R::Patient, STAFF),
        ("GET", "/patients/{id}", A::PatientFindingsList, R::Patient, STAFF),
        ("POST", "/patients/{id}/findings", A::FindingUpload, R::Finding, CLINICAL),
        ("GET", "/tenants", A::TenantList, R::Tenant, OPERATORS),
        ("GET", "/alerts", A::AlertList, R::AuditRecord, OPERATORS),
        ("GET", "/forensics", A::ForensicsQuery, R::AuditRecord, OPERATORS),
        ("GET", "/incidents", A::IncidentManage, R::Incident, OPERATORS),
        ("POST", "/incidents", A::IncidentManage, R::Incident, OPERATORS),
        ("GET", "/access-log", A::AccessLogRead, R::AuditRecord, PATIENTS),
        ("GET", "/access-log/{id}/proof", A::AccessProofRead, R::AuditRecord, PATIENTS),
        // Messaging (issue 11)
        ("GET", "/messages", A::ThreadList, R::Thread, READERS),
        ("GET", "/messages/new", A::ThreadCreate, R::Thread, CORRESPONDENTS),
        ("POST", "/messages", A::ThreadCreate, R::Thread, CORRESPONDENTS),
        ("GET", "/messages/{id}", A::ThreadRead, R::Thread, READERS),
        ("POST", "/messages/{id}/reply", A::MessagePost, R::Message, CORRESPONDENTS),
        ("POST", "/messages/{id}/assign", A::ThreadAssign, R::Thread, CLINICAL),
        ("POST", "/messages/{id}/close", A::ThreadClose, R::Thread, CLINICAL),
        ("POST", "/messages/{id}/retract", A::ThreadRetract, R::Thread, CLINICAL),
        ("GET", "/attachments/{id}", A::AttachmentDownload, R::Attachment, READERS),
        ("GET", "/static/hippo.css", A::Public, R::None, ANONYMOUS),
        ("GET", "/language", A::Public, R::None, ANONYMOUS),
        // Service switches (issue 11): operators only, never switched off.
        ("GET", "/api/v1/switches", A::SwitchList, R::ServiceSwitch, OPERATORS),
        ("POST", "/api/v1/switches", A::SwitchChange, R::ServiceSwitch, OPERATORS),
        ("GET", "/switches", A::SwitchList, R::ServiceSwitch, OPERATORS),
        ("POST", "/switches", A::SwitchChange, R::ServiceSwitch, OPERATORS),
        // Retrieval codes (issue 11): staff issue, list, revoke; the code
        // holder, without a session, retrieves with code and birth date.
        ("POST", "/api/v1/findings/{id}/retrieval-codes", A::RetrievalCodeIssue, R::RetrievalCode, CLINICAL),
        ("GET", "/api/v1/findings/{id}/retrieval-codes", A::RetrievalCodeList, R::RetrievalCode, CLINICAL),
        ("POST", "/api/v1/retrieval-codes/{id}/revoke", A::RetrievalCodeRevoke, R::RetrievalCode, CLINICAL),
        ("POST", "/api/v1/retrieval", A::RetrievalRedeem, R::Finding, ANONYMOUS),
        ("GET", "/api/v1/retrieval/pdf/{token}", A::RetrievalPdfDownload, R::FindingPdf, ANONYMOUS),
        ("POST", "/findings/{id}/retrieval-codes", A::RetrievalCodeIssue, R::RetrievalCode, CLINICAL),
        ("POST", "/retrieval-codes/{id}/revoke", A::RetrievalCodeRevoke, R::RetrievalCode, CLINICAL),
        ("GET", "/retrieve", A::Public, R::None, ANONYMOUS),
        ("POST", "/retrieve", A::RetrievalRedeem, R::Finding, ANONYMOUS),
        ("GET", "/retrieve/pdf/{token}", A::RetrievalPdfDownload, R::FindingPdf, ANONYMOUS),
        // Facility portal (issue 12): one patient's access log, tenant
        // admins only (it shows colleagues' work; see the Cedar rule).
        ("GET", "/api/v1/patients/{id}/access-log", A::PatientAccessLogRead, R::AuditRecord, ADMINS),
        ("GET", "/patients/{id}/access-log", A::PatientAccessLogRead, R::AuditRecord, ADMINS),
        // Second-factor enrolment and account security (issue 12): staff
        // and operators without a factor enrol during login; everyone
        // reaches their own settings, patients turn TOTP on and off.
        ("POST", "/api/v1/auth/login/enrol/start", A::LoginEnrol, R::SecondFactor, ANONYMOUS),
        ("POST", "/api/v1/auth/login/enrol/finish", A::LoginEnrol, R::SecondFactor, ANONYMOUS),
        ("GET", "/api/v1/account/security", A::AccountSecurityRead, R::SecondFactor, WITH_SESSION),
        ("POST", "/api/v1/account/totp/start", A::AccountTotpEnrol, R::SecondFactor, PATIENTS),
        ("POST", "/api/v1/account/totp/finish", A::AccountTotpEnrol, R::SecondFactor, PATIENTS),
        ("POST", "/api/v1/account/totp/remove", A::AccountTotpRemove, R::SecondFactor, PATIENTS),
        ("POST", "/api/v1/account/recovery-codes", A::AccountRecoveryCodesRenew, R::SecondFactor, WITH_SESSION),
        ("GET", "/login/enrol", A::Public, R::None, ANONYMOUS),
        ("POST", "/login/enrol", A::LoginEnrol, R::SecondFactor, ANONYMOUS),
        ("GET", "/account/security", A::AccountSecurityRead, R::SecondFactor, WITH_SESSION),
        ("POST", "/account/totp/start", A::AccountTotpEnrol, R::SecondFactor, PATIENTS),
        ("POST", "/account/totp/finish", A::AccountTotpEnrol, R::SecondFactor, PATIENTS),
        ("POST", "/account/totp/remove", A::AccountTotpRemove, R::SecondFactor, PATIENTS),
        ("POST", "/account/recovery-codes", A::AccountRecoveryCodesRenew, R::SecondFactor, WITH_SESSION),
        // Staff management, API keys page and facility settings (issue 12):
        // tenant admins of their own facility; the invitation is anonymous
        // (its token is the proof).
        ("GET", "/api/v1/staff", A::StaffList, R::StaffMember, ADMINS),
        ("POST", "/api/v1/staff", A::StaffCreate, R::StaffMember, ADMINS),
        ("POST", "/api/v1/staff/{id}/role", A::StaffRoleChange, R::StaffMember, ADMINS),
        ("POST", "/api/v1/staff/{id}/deactivate", A::StaffDeactivate, R::StaffMember, ADMINS),
        ("POST", "/api/v1/staff/{id}/reactivate", A::StaffReactivate, R::StaffMember, ADMINS),
        ("GET", "/api/v1/settings", A::TenantSettingsRead, R::Tenant, ADMINS),
        ("POST", "/api/v1/settings", A::TenantSettingsChange, R::Tenant, ADMINS),
        ("GET", "/staff", A::StaffList, R::StaffMember, ADMINS),
        ("POST", "/staff", A::StaffCreate, R::StaffMember, ADMINS),
        ("POST", "/staff/{id}/role", A::StaffRoleChange, R::StaffMember, ADMINS),
        ("POST", "/staff/{id}/deactivate", A::StaffDeactivate, R::StaffMember, ADMINS),
        ("POST", "/staff/{id}/reactivate", A::StaffReactivate, R::StaffMember, ADMINS),
        ("GET", "/api-keys", A::ApiKeyList, R::ApiKey, ADMINS),
        ("POST", "/api-keys", A::ApiKeyCreate, R::ApiKey, ADMINS),
        ("POST", "/api-keys/{id}/revoke", A::ApiKeyRevoke, R::ApiKey, ADMINS),
        ("GET", "/settings", A::TenantSettingsRead, R::Tenant, ADMINS),
        ("POST", "/settings", A::TenantSettingsChange, R::Tenant, ADMINS),
        ("GET", "/invitation", A::Public, R::None, ANONYMOUS),
        ("POST", "/invitation", A::InvitationAccept, R::StaffMember, ANONYMOUS),
        // Own sessions and password reset (issue 12)
        ("GET", "/api/v1/account/sessions", A::OwnSessionList, R::Session, WITH_SESSION),
        ("POST", "/api/v1/account/sessions/{id}/revoke", A::OwnSessionRevoke, R::Session, WITH_SESSION),
        ("POST", "/api/v1/account/sessions/revoke-others", A::OwnSessionRevoke, R::Session, WITH_SESSION),
        ("POST", "/api/v1/auth/password-reset", A::PasswordResetRequest, R::Session, ANONYMOUS),
        ("POST", "/api/v1/auth/password-reset/confirm", A::PasswordResetConfirm, R::Session, ANONYMOUS),
        ("GET", "/account/sessions", A::OwnSessionList, R::Session, WITH_SESSION),
        ("POST", "/account/sessions/{id}/revoke", A::OwnSessionRevoke, R::Session, WITH_SESSION),
        ("POST", "/account/sessions/revoke-others", A::OwnSessionRevoke, R::Session, WITH_SESSION),
        ("GET", "/password/forgot", A::Public, R::None, ANONYMOUS),
        ("POST", "/password/forgot", A::PasswordResetRequest, R::Session, ANONYMOUS),
        ("GET", "/password/reset", A::Public, R::None, ANONYMOUS),
        ("POST", "/password/reset", A::PasswordResetConfirm, R::Session, ANONYMOUS),
        // Passkeys (issue 12): the login's second step with a passkey, and
        // everyone with a session managing their own passkeys.
        ("POST", "/api/v1/auth/login/passkey/challenge", A::LoginSecondFactor, R::Session, ANONYMOUS),
        ("POST", "/api/v1/auth/login/passkey", A::LoginSecondFactor, R::Session, ANONYMOUS),
        ("GET", "/api/v1/account/passkeys", A::PasskeyList, R::Passkey, WITH_SESSION),
        ("POST", "/api/v1/account/passkeys", A::PasskeyRegister, R::Passkey, WITH_SESSION),
        ("POST", "/api/v1/account/passkeys/register/challenge", A::PasskeyRegister, R::Passkey, WITH_SESSION),
        ("POST", "/api/v1/account/passkeys/{id}/delete", A::PasskeyDelete, R::Passkey, WITH_SESSION),
        ("POST", "/login/passkey/challenge", A::LoginSecondFactor, R::Session, ANONYMOUS),
        ("POST", "/login/passkey", A::LoginSecondFactor, R::Session, ANONYMOUS),
        ("GET", "/account/passkeys", A::PasskeyList, R::Passkey, WITH_SESSION),
        ("POST", "/account/passkeys", A::PasskeyRegister, R::Passkey, WITH_SESSION),
        ("POST", "/account/passkeys/register/challenge", A::PasskeyRegister, R::Passkey, WITH_SESSION),
        ("POST", "/account/passkeys/{id}/delete", A::PasskeyDelete, R::Passkey, WITH_SESSION),
        ("GET", "/static/passkeys.js", A::Public, R::None, ANONYMOUS),
        // SMART scopes (issue 13): a narrower token from one's own API
        // session, for an app that should see less than its user.
        ("POST", "/api/v1/auth/scoped-token", A::ScopedTokenIssue, R::Session, WITH_SESSION),
        // FHIR R4 facade (issue 13): the same actions as the JSON API where
        // they mean the same (a report, a value and a document are a
        // finding read; the PDF a download), searches of their own. Lab
        // systems read nothing; a patient's history is patients' only.
        ("GET", "/fhir/r4/metadata", A::Public, R::None, ANONYMOUS),
        ("GET", "/fhir/r4/Patient", A::FhirPatientSearch, R::Patient, READERS),
        ("GET", "/fhir/r4/Patient/{id}", A::FhirPatientRead, R::Patient, READERS),
        ("GET", "/fhir/r4/DiagnosticReport", A::FhirFindingSearch, R::Finding, READERS),
        ("GET", "/fhir/r4/DiagnosticReport/{id}", A::FindingRead, R::Finding, READERS),
        ("GET", "/fhir/r4/Observation", A::FhirFindingSearch, R::Finding, READERS),
        ("GET", "/fhir/r4/Observation/{id}", A::FindingRead, R::Finding, READERS),
        ("GET", "/fhir/r4/DocumentReference", A::FhirFindingSearch, R::Finding, READERS),
        ("GET", "/fhir/r4/DocumentReference/{id}", A::FindingRead, R::Finding, READERS),
        ("GET", "/fhir/r4/Binary/{id}", A::FindingPdfDownload, R::FindingPdf, READERS),
        // A message is read as its thread is (ThreadRead), a search of
        // messages lists as the inbox does (ThreadList, each row gated as
        // ThreadRead); neither marks anything read.
        ("GET", "/fhir/r4/Communication", A::ThreadList, R::Thread, READERS),
        ("GET", "/fhir/r4/Communication/{id}", A::ThreadRead, R::Thread, READERS),
        ("GET", "/fhir/r4/AuditEvent", A::AccessLogRead, R::AuditRecord, PATIENTS),
    ]
};

/// The declarations, with surface and target derived from the path.
pub fn declarations() -> Vec<RouteSpec> {
    ROUTES
        .iter()
        .map(|&(method, path, action, resource, allowed)| RouteSpec {
            method,
            path,
            action,
            resource,
            allowed,
            surface: Surface::of_path(path),
            target: if path.contains('{') {
                Target::Item
            } else {
                Target::Collection
            },
        })
        .collect()
}
