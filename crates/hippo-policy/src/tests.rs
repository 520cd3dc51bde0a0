use hippo_core::finding::FindingStatus;
use hippo_core::messaging::ThreadStatus;
use hippo_core::{
    AccountId, ApiKeyId, AttachmentId, FindingId, OperatorId, PatientLink, StaffId, ThreadId,
};

use super::*;

fn staff(tenant: TenantId, role: StaffRole) -> Principal {
    Principal::Staff {
        staff_id: StaffId::random(),
        tenant_id: tenant,
        role,
        display_name: "s".into(),
    }
}

fn finding(tenant: TenantId, patient: PatientId, status: FindingStatus) -> ResourceRef {
    ResourceRef::Finding {
        tenant,
        patient,
        finding: FindingId::random(),
        status,
    }
}

#[test]
fn the_shipped_policy_validates_against_the_schema() {
    Policy::load().unwrap();
}

#[test]
fn a_policy_naming_an_unknown_attribute_is_refused() {
    let bad = "permit(principal is Hippo::Staff, action == Hippo::Action::\"finding_read\", resource is Hippo::Finding) when { principal.tenant == resource.owner };";
    assert!(matches!(
        Policy::from_sources(bad, SCHEMA_SOURCE),
        Err(PolicyError::Invalid(_))
    ));
}

#[test]
fn ownership_decides_for_staff_and_patients() {
    let policy = Policy::load().unwrap();
    let (t1, t2) = (TenantId::random(), TenantId::random());
    let (p1, p2) = (PatientId::random(), PatientId::random());
    let clinician = staff(t1, StaffRole::Clinician);
    let admin = staff(t1, StaffRole::TenantAdmin);
    let patient = Principal::Patient {
        account_id: AccountId::random(),
        display_name: "p".into(),
        links: vec![PatientLink {
            tenant_id: t1,
            patient_id: p1,
        }],
    };
    let read = Action::FindingRead;
    assert!(policy.decide(&clinician, read, &finding(t1, p1, FindingStatus::Draft)));
    assert!(!policy.decide(&clinician, read, &finding(t2, p2, FindingStatus::Released)));
    assert!(policy.decide(&patient, read, &finding(t1, p1, FindingStatus::Released)));
    assert!(!policy.decide(&patient, read, &finding(t1, p1, FindingStatus::Draft)));
    assert!(!policy.decide(&patient, read, &finding(t1, p1, FindingStatus::Retracted)));
    assert!(!policy.decide(&patient, read, &finding(t1, p2, FindingStatus::Released)));
    let release = Action::FindingRelease;
    assert!(policy.decide(&clinician, release, &finding(t1, p1, FindingStatus::Draft)));
    assert!(!policy.decide(&admin, release, &finding(t1, p1, FindingStatus::Draft)));
    assert!(policy.decide(&admin, Action::ApiKeyCreate, &ResourceRef::Tenant(t1)));
    assert!(!policy.decide(&admin, Action::ApiKeyCreate, &ResourceRef::Tenant(t2)));
    assert!(!policy.decide(&clinician, Action::ApiKeyCreate, &ResourceRef::Tenant(t1)));
    let key = ResourceRef::ApiKey {
        tenant: t2,
        key: ApiKeyId::random(),
    };
    assert!(!policy.decide(&admin, Action::ApiKeyRevoke, &key));
}

#[test]
fn operators_never_read_patient_data() {
    let policy = Policy::load().unwrap();
    let operator = Principal::Operator {
        operator_id: OperatorId::random(),
        display_name: "o".into(),
    };
    let (t, p) = (TenantId::random(), PatientId::random());
    assert!(policy.decide(&operator, Action::TenantList, &ResourceRef::Platform));
    for action in [
        Action::FindingRead,
        Action::FindingPdfDownload,
        Action::FindingRelease,
    ] {
        assert!(!policy.decide(&operator, action, &finding(t, p, FindingStatus::Released)));
    }
    assert!(!policy.decide(&operator, Action::PatientList, &ResourceRef::Tenant(t)));
}

#[test]
fn lab_systems_only_submit_for_their_own_tenant() {
    let policy = Policy::load().unwrap();
    let (t1, t2) = (TenantId::random(), TenantId::random());
    let lab = Principal::LabSystem {
        key_id: ApiKeyId::random(),
        tenant_id: t1,
        display_name: "lab".into(),
    };
    let own = ResourceRef::Patient {
        tenant: t1,
        patient: PatientId::random(),
    };
    let other = ResourceRef::Patient {
        tenant: t2,
        patient: PatientId::random(),
    };
    assert!(policy.decide(&lab, Action::FindingUpload, &own));
    assert!(!policy.decide(&lab, Action::FindingUpload, &other));
    assert!(!policy.decide(&lab, Action::PatientRead, &own));
    assert!(!policy.decide(
        &lab,
        Action::FindingRead,
        &finding(t1, PatientId::random(), FindingStatus::Released)
    ));
}

#[test]
fn actions_outside_the_schema_are_denied() {
    let policy = Policy::load().unwrap();
    let clinician = staff(TenantId::random(), StaffRole::Clinician);
    assert!(!policy.decide(&clinician, Action::Public, &ResourceRef::Platform));
    assert!(!policy.decide(&clinician, Action::Login, &ResourceRef::Platform));
}

/// The gate a scoped store handle asks is the policy bound to one
/// principal: it permits the own object and refuses the foreign one (a
/// gate that always answered the same would pass every test that only
/// calls `decide`; `cargo mutants` showed it).
#[test]
fn a_principals_gate_decides_like_the_policy() {
    let policy = Arc::new(Policy::load().unwrap());
    let (t1, t2) = (TenantId::random(), TenantId::random());
    let clinician = staff(t1, StaffRole::Clinician);
    let gate = policy.gate(&clinician);
    let own = finding(t1, PatientId::random(), FindingStatus::Draft);
    let foreign = finding(t2, PatientId::random(), FindingStatus::Released);
    assert!(gate.permits(Action::FindingRead, &own));
    assert!(!gate.permits(Action::FindingRead, &foreign));
}

fn thread(tenant: TenantId, patient: PatientId, status: ThreadStatus) -> ResourceRef {
    ResourceRef::Thread {
        tenant,
        patient,
        thread: ThreadId::random(),
        status,
    }
}

/// Messaging: a patient reaches their own threads (never retracted ones)
/// at every facility they are a patient of; staff their facility's, and
/// only clinical staff write and manage; operators nothing.
#[test]
fn threads_belong_to_one_facility_and_one_patient() {
    let policy = Policy::load().unwrap();
    let (t1, t2) = (TenantId::random(), TenantId::random());
    let (p1, p2, p3) = (
        PatientId::random(),
        PatientId::random(),
        PatientId::random(),
    );
    let patient = Principal::Patient {
        account_id: AccountId::random(),
        display_name: "p".into(),
        links: vec![
            PatientLink {
                tenant_id: t1,
                patient_id: p1,
            },
            PatientLink {
                tenant_id: t2,
                patient_id: p3,
            },
        ],
    };
    let clinician = staff(t1, StaffRole::Clinician);
    let admin = staff(t1, StaffRole::TenantAdmin);
    let operator = Principal::Operator {
        operator_id: OperatorId::random(),
        display_name: "o".into(),
    };
    let (read, post) = (Action::ThreadRead, Action::MessagePost);
    for status in [ThreadStatus::Open, ThreadStatus::Closed] {
        assert!(policy.decide(&patient, read, &thread(t1, p1, status)));
        assert!(policy.decide(&patient, read, &thread(t2, p3, status)));
    }
    assert!(!policy.decide(&patient, read, &thread(t1, p1, ThreadStatus::Retracted)));
    assert!(!policy.decide(&patient, read, &thread(t1, p2, ThreadStatus::Open)));
    assert!(!policy.decide(&patient, post, &thread(t1, p2, ThreadStatus::Open)));
    let create = Action::ThreadCreate;
    let own_record = ResourceRef::Patient {
        tenant: t2,
        patient: p3,
    };
    let foreign_record = ResourceRef::Patient {
        tenant: t2,
        patient: p2,
    };
    assert!(policy.decide(&patient, create, &own_record));
    assert!(!policy.decide(&patient, create, &foreign_record));
    assert!(policy.decide(&clinician, read, &thread(t1, p2, ThreadStatus::Retracted)));
    assert!(!policy.decide(&clinician, read, &thread(t2, p3, ThreadStatus::Open)));
    assert!(policy.decide(&clinician, post, &thread(t1, p2, ThreadStatus::Open)));
    assert!(!policy.decide(&clinician, post, &thread(t2, p3, ThreadStatus::Open)));
    assert!(
        !policy.decide(&clinician, create, &own_record),
        "other tenant's patient"
    );
    assert!(policy.decide(&admin, read, &thread(t1, p2, ThreadStatus::Open)));
    for action in [
        post,
        Action::ThreadClose,
        Action::ThreadRetract,
        Action::ThreadAssign,
    ] {
        assert!(!policy.decide(&admin, action, &thread(t1, p2, ThreadStatus::Open)));
        assert!(!policy.decide(&operator, action, &thread(t1, p2, ThreadStatus::Open)));
    }
    assert!(!policy.decide(&operator, Action::ThreadList, &ResourceRef::Tenant(t1)));
    let attachment = |status| ResourceRef::Attachment {
        tenant: t1,
        patient: p1,
        attachment: AttachmentId::random(),
        thread_status: status,
    };
    let download = Action::AttachmentDownload;
    assert!(policy.decide(&patient, download, &attachment(ThreadStatus::Closed)));
    assert!(!policy.decide(&patient, download, &attachment(ThreadStatus::Retracted)));
    assert!(policy.decide(&clinician, download, &attachment(ThreadStatus::Retracted)));
    assert!(!policy.decide(&operator, download, &attachment(ThreadStatus::Open)));
}

#[test]
fn a_code_holder_reads_exactly_the_released_finding_of_its_code() {
    use hippo_core::RetrievalCodeId;
    use hippo_core::retrieval::CodeHolder;
    let policy = Policy::load().unwrap();
    let (tenant, patient) = (TenantId::random(), PatientId::random());
    let holder = CodeHolder {
        code_id: RetrievalCodeId::random(),
        tenant_id: tenant,
        patient_id: patient,
        finding_id: FindingId::random(),
    };
    let of_code = |status| ResourceRef::Finding {
        tenant,
        patient,
        finding: holder.finding_id,
        status,
    };
    let pdf_of_code = |status| ResourceRef::FindingPdf {
        tenant,
        patient,
        finding: holder.finding_id,
        status,
    };
    let decide =
        |action, resource: &ResourceRef| policy.decide_for_code_holder(&holder, action, resource);
    assert!(decide(
        Action::RetrievalRedeem,
        &of_code(FindingStatus::Released)
    ));
    assert!(decide(
        Action::RetrievalPdfDownload,
        &pdf_of_code(FindingStatus::Released)
    ));
    // Not once it is retracted, never a draft.
    for status in [FindingStatus::Retracted, FindingStatus::Draft] {
        assert!(!decide(Action::RetrievalRedeem, &of_code(status)));
        assert!(!decide(Action::RetrievalPdfDownload, &pdf_of_code(status)));
    }
    // Another finding of the same patient and tenant: no.
    let other = finding(tenant, patient, FindingStatus::Released);
    assert!(!decide(Action::RetrievalRedeem, &other));
    // Nothing a session would do.
    for action in [
        Action::FindingRead,
        Action::PatientRead,
        Action::OwnFindingsList,
    ] {
        assert!(!decide(action, &of_code(FindingStatus::Released)));
    }
    // Staff: clinicians and assistants of the tenant, not admins, not others.
    let code = ResourceRef::RetrievalCode {
        tenant,
        code: holder.code_id,
    };
    let clinician = staff(tenant, StaffRole::Clinician);
    assert!(policy.decide(
        &clinician,
        Action::RetrievalCodeIssue,
        &of_code(FindingStatus::Released)
    ));
    assert!(policy.decide(&clinician, Action::RetrievalCodeRevoke, &code));
    assert!(!policy.decide(
        &staff(tenant, StaffRole::TenantAdmin),
        Action::RetrievalCodeRevoke,
        &code
    ));
    let foreign = staff(TenantId::random(), StaffRole::Clinician);
    assert!(!policy.decide(&foreign, Action::RetrievalCodeRevoke, &code));
    assert!(!policy.decide(
        &foreign,
        Action::RetrievalCodeIssue,
        &of_code(FindingStatus::Released)
    ));
}
