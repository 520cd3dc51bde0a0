//! The group-commit writer under many concurrent appends: every append
//! that returns is durable at a position of its own, the positions are
//! gapless, each record's claim is the one its actor had, and the log
//! verifies.

use std::collections::HashSet;

use hippo_audit::merkle::leaf_hash;
use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::{FindingId, PatientId, TenantId};

/// Concurrent appends (more than any one batch gathers at once).
const APPENDS: usize = 320;

/// The i-th access: a clinician of the patient's tenant, a clinician of
/// another tenant, a patient account with no link to the record, or the
/// system.
fn access(
    i: usize,
    tenant: TenantId,
    other: TenantId,
    patient: PatientId,
) -> (AuditActor, AuditEvent, RequestOrigin, &'static str) {
    let (actor, claim) = match i % 4 {
        0 => (
            AuditActor {
                kind: "clinician".into(),
                id: Some(format!("staff-{i}")),
                tenant_id: Some(tenant),
            },
            "tenant",
        ),
        1 => (
            AuditActor {
                kind: "clinician".into(),
                id: Some(format!("staff-{i}")),
                tenant_id: Some(other),
            },
            "none",
        ),
        2 => (
            AuditActor {
                kind: "patient".into(),
                id: Some(format!("account-{i}")),
                tenant_id: None,
            },
            "none",
        ),
        _ => (
            AuditActor {
                kind: "system".into(),
                id: None,
                tenant_id: None,
            },
            "system",
        ),
    };
    let event = AuditEvent::new(Action::FindingRead, ResourceKind::Finding, Outcome::Success)
        .resource(FindingId::random())
        .concerning(tenant, Some(patient));
    let origin = RequestOrigin {
        request_id: format!("req-{i}"),
        ..RequestOrigin::default()
    };
    (actor, event, origin, claim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_durable_gapless_and_claimed() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, log, key, mut issuer) = super::open_log(dir.path()).await;
    let (tenant, other, patient) = (TenantId::random(), TenantId::random(), PatientId::random());

    let mut tasks = Vec::new();
    for i in 0..APPENDS {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let (actor, event, origin, claim) = access(i, tenant, other, patient);
            let record = log.append(actor, event, &origin).await.expect("append");
            (i, record, claim)
        }));
    }
    let mut positions = HashSet::new();
    let mut appended = Vec::new();
    for task in tasks {
        let (i, record, claim) = task.await.expect("task");
        assert_eq!(
            record.origin.request_id,
            format!("req-{i}"),
            "each caller gets its own record back"
        );
        assert_eq!(record.claim, claim, "claim of access {i}");
        assert!(
            positions.insert(record.seq),
            "position {} given twice",
            record.seq
        );
        appended.push(record);
    }
    assert_eq!(log.size().await.expect("size"), APPENDS as u64);
    assert_eq!(
        positions,
        (1..=APPENDS as u64).collect::<HashSet<_>>(),
        "positions 1..=n without gaps"
    );

    // What each caller was told is what the log holds at its position.
    let leaves = log.leaf_hashes(1, APPENDS as u64).await.expect("leaves");
    for record in &appended {
        assert_eq!(
            leaves[record.seq as usize - 1],
            leaf_hash(&record.canonical_bytes()),
            "record at {} as stored",
            record.seq
        );
    }
    issuer.tick(true).await.expect("tick").expect("head");
    let report = log
        .verify(&key.verifying_key(), |_, _| {})
        .await
        .expect("verify");
    assert_eq!(report.problem, None);
    assert_eq!(report.records, APPENDS as u64);
    store.close().await;
}
