//! The route table declares which principal kinds may call each route; the
//! Cedar policy decides about objects. This check makes the two agree: for
//! every route and principal kind, the policy must permit the route's action
//! on an object the principal owns exactly when the route admits the kind.
//! It runs at start-up (the server refuses to start otherwise) and in tests.

use hippo_core::finding::FindingStatus;
use hippo_core::messaging::ThreadStatus;
use hippo_core::policy::{Action, ResourceRef};
use hippo_core::{
    AccountId, ApiKeyId, AttachmentId, FindingId, OperatorId, PatientId, PatientLink, Principal,
    PrincipalKind, RetrievalCodeId, StaffId, StaffRole, TenantId, ThreadId,
};
use hippo_policy::Policy;

use crate::declarations::{RouteSpec, Surface};

/// A principal of `kind` in tenant `tenant`, linked (if a patient) to
/// `patient` there.
pub fn representative(kind: PrincipalKind, tenant: TenantId, patient: PatientId) -> Principal {
    let staff = |role| Principal::Staff {
        staff_id: StaffId::random(),
        tenant_id: tenant,
        role,
        display_name: String::new(),
    };
    match kind {
        PrincipalKind::Operator => Principal::Operator {
            operator_id: OperatorId::random(),
            display_name: String::new(),
        },
        PrincipalKind::TenantAdmin => staff(StaffRole::TenantAdmin),
        PrincipalKind::Clinician => staff(StaffRole::Clinician),
        PrincipalKind::Assistant => staff(StaffRole::Assistant),
        PrincipalKind::Patient => Principal::Patient {
            account_id: AccountId::random(),
            display_name: String::new(),
            links: vec![PatientLink {
                tenant_id: tenant,
                patient_id: patient,
            }],
        },
        PrincipalKind::LabSystem => Principal::LabSystem {
            key_id: ApiKeyId::random(),
            tenant_id: tenant,
            display_name: String::new(),
        },
    }
}

/// The most favourable object of `action` for `principal`: its own tenant,
/// its own patient record, in the state the action applies to.
fn own_object(
    action: Action,
    principal: &Principal,
    tenant: TenantId,
    patient: PatientId,
) -> ResourceRef {
    let finding = |status| ResourceRef::Finding {
        tenant,
        patient,
        finding: FindingId::random(),
        status,
    };
    match action {
        Action::OwnFindingsList
        | Action::AccessLogRead
        | Action::AccountTotpEnrol
        | Action::AccountTotpRemove => match principal {
            Principal::Patient { account_id, .. } => ResourceRef::Account(*account_id),
            _ => ResourceRef::Account(AccountId::random()),
        },
        Action::FindingRead | Action::FindingRetract => finding(FindingStatus::Released),
        Action::FindingRelease => finding(FindingStatus::Draft),
        Action::FindingPdfDownload => ResourceRef::FindingPdf {
            tenant,
            patient,
            finding: FindingId::random(),
            status: FindingStatus::Released,
        },
        Action::PatientList
        | Action::PatientCreate
        | Action::ApiKeyList
        | Action::ApiKeyCreate
        | Action::Hl7Intake => ResourceRef::Tenant(tenant),
        Action::PatientRead | Action::PatientFindingsList | Action::FindingUpload => {
            ResourceRef::Patient { tenant, patient }
        }
        // Facility portal (issue 12)
        Action::PatientAccessLogRead => ResourceRef::Patient { tenant, patient },
        Action::AccessProofRead => ResourceRef::AuditEntry { tenant, patient },
        Action::ApiKeyRevoke => ResourceRef::ApiKey {
            tenant,
            key: ApiKeyId::random(),
        },
        // FHIR facade (issue 13): searches are collections, a patient's
        // own or the facility's; a record is the patient's own.
        Action::FhirPatientSearch | Action::FhirFindingSearch => match principal {
            Principal::Patient { account_id, .. } => ResourceRef::Account(*account_id),
            _ => ResourceRef::Tenant(tenant),
        },
        Action::FhirPatientRead => ResourceRef::Patient { tenant, patient },
        Action::ThreadList => match principal {
            Principal::Patient { account_id, .. } => ResourceRef::Account(*account_id),
            _ => ResourceRef::Tenant(tenant),
        },
        Action::ThreadCreate => ResourceRef::Patient { tenant, patient },
        Action::ThreadRead
        | Action::MessagePost
        | Action::ThreadAssign
        | Action::ThreadClose
        | Action::ThreadRetract => ResourceRef::Thread {
            tenant,
            patient,
            thread: ThreadId::random(),
            status: ThreadStatus::Open,
        },
        Action::AttachmentDownload => ResourceRef::Attachment {
            tenant,
            patient,
            attachment: AttachmentId::random(),
            thread_status: ThreadStatus::Open,
        },
        Action::RetrievalCodeIssue | Action::RetrievalCodeList => finding(FindingStatus::Released),
        Action::RetrievalCodeRevoke => ResourceRef::RetrievalCode {
            tenant,
            code: RetrievalCodeId::random(),
        },
        // Anonymous routes: the code holder is no principal of a session.
        Action::RetrievalRedeem | Action::RetrievalPdfDownload => ResourceRef::Platform,
        // Staff management and settings (issue 12).
        Action::StaffList
        | Action::StaffCreate
        | Action::TenantSettingsRead
        | Action::TenantSettingsChange => ResourceRef::Tenant(tenant),
        Action::StaffRoleChange | Action::StaffDeactivate | Action::StaffReactivate => {
            ResourceRef::StaffUser {
                tenant,
                staff: StaffId::random(),
            }
        }
        Action::InvitationAccept => ResourceRef::Platform,
        Action::Public
        | Action::Login
        | Action::LoginSecondFactor
        | Action::Logout
        | Action::ViewHome
        | Action::TenantList
        | Action::ForensicsQuery
        | Action::AlertList
        | Action::IncidentManage
        | Action::TenantDelete
        | Action::KeyRotate
        | Action::SwitchList
        | Action::SwitchChange
        | Action::LoginEnrol
        | Action::AccountSecurityRead
        | Action::AccountRecoveryCodesRenew => ResourceRef::Platform,
        // Issue 12: one's own sessions; reset is anonymous.
        Action::OwnSessionList
        | Action::OwnSessionRevoke
        | Action::ScopedTokenIssue
        | Action::PasswordResetRequest
        | Action::PasswordResetConfirm => ResourceRef::Platform,
        Action::PasskeyList | Action::PasskeyRegister | Action::PasskeyDelete => {
            ResourceRef::Platform
        }
    }
}

/// Every disagreement between route table and policy, as readable lines.
pub fn disagreements(policy: &Policy, specs: &[RouteSpec]) -> Vec<String> {
    let (tenant, patient) = (TenantId::random(), PatientId::random());
    let mut problems = Vec::new();
    for spec in specs.iter().filter(|s| !s.action.is_anonymous()) {
        for kind in PrincipalKind::ALL {
            // API keys authenticate only on the API; the browser UI never
            // admits lab systems whatever the policy says.
            if spec.surface == Surface::Web && kind == PrincipalKind::LabSystem {
                continue;
            }
            let principal = representative(kind, tenant, patient);
            let object = own_object(spec.action, &principal, tenant, patient);
            let permitted = policy.decide(&principal, spec.action, &object);
            let declared = spec.allowed.contains(&kind);
            if permitted != declared {
                problems.push(format!(
                    "{} {}: route {} {}, policy {} it",
                    spec.method,
                    spec.path,
                    if declared { "admits" } else { "refuses" },
                    kind.as_str(),
                    if permitted { "permits" } else { "denies" },
                ));
            }
        }
        if spec.allowed.is_empty() {
            problems.push(format!("{} {}: admits nobody", spec.method, spec.path));
        }
    }
    problems
}
