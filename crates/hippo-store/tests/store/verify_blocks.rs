//! `verify` splits the log into blocks (perfect subtrees) checked on
//! several threads and joined afterwards. With blocks of a few records a
//! small log crosses many block boundaries, with signed heads inside
//! blocks, on their edges and at the end.

use std::sync::Arc;

use hippo_audit::AuditSigningKey;
use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::{FindingId, PatientId, TenantId};
use hippo_store::{AuditLog, Store};

fn access(i: usize) -> (AuditActor, AuditEvent, RequestOrigin) {
    let actor = AuditActor {
        kind: "clinician".into(),
        id: Some(format!("staff-{}", i % 3)),
        tenant_id: None,
    };
    let event = AuditEvent::new(Action::FindingRead, ResourceKind::Finding, Outcome::Success)
        .resource(FindingId::random())
        .concerning(TenantId::random(), Some(PatientId::random()));
    let origin = RequestOrigin {
        request_id: format!("req-{i}"),
        route: Some("GET /api/v1/findings/{id}".into()),
        client_addr: None,
        user_agent: None,
    };
    (actor, event, origin)
}

/// A log of 37 records with signed heads at the given sizes and at 37.
async fn log_with_heads(
    dir: &std::path::Path,
    heads: &[usize],
) -> (Store, AuditLog, Arc<AuditSigningKey>) {
    let (store, log, key, mut issuer) = super::open_log(dir).await;
    let mut size = 0;
    for &head in heads.iter().chain(&[37]) {
        log.append_bulk((size..head).map(access).collect())
            .await
            .expect("append");
        size = head;
        issuer.tick(true).await.expect("head");
    }
    (store, log, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_joined_across_threads_give_the_roots_of_every_head() {
    let dir = tempfile::tempdir().expect("dir");
    // Heads inside blocks (1, 6, 13), on block edges (4, 8, 32), and at 37.
    let (_store, log, key) = log_with_heads(dir.path(), &[1, 4, 6, 8, 13, 32]).await;
    for height in [0, 1, 2, 3, 16] {
        let report = log
            .verify_in_blocks(&key.verifying_key(), height, |_, _| {})
            .await
            .expect("verify");
        assert_eq!(report.problem, None, "blocks of 2^{height}");
        assert_eq!(report.records, 37);
        assert_eq!(report.heads, 7);
    }
    // Another key's heads are refused, whatever the block size.
    let other = AuditSigningKey::generate();
    let report = log
        .verify_in_blocks(&other.verifying_key(), 2, |_, _| {})
        .await
        .expect("verify");
    assert!(
        report
            .problem
            .expect("problem")
            .contains("invalid signature")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_altered_record_is_named_even_when_a_later_block_is_also_bad() {
    let dir = tempfile::tempdir().expect("dir");
    let (_store, log, key) = log_with_heads(dir.path(), &[10, 20]).await;
    let conn = rusqlite::Connection::open(dir.path().join("hippo.db")).expect("open");
    conn.execute_batch(
        "DROP TRIGGER audit_records_no_update; \
         UPDATE audit_records SET client_addr = '6.6.6.6' WHERE seq IN (14, 30);",
    )
    .expect("tamper");
    drop(conn);
    for height in [0, 2, 3] {
        let report = log
            .verify_in_blocks(&key.verifying_key(), height, |_, _| {})
            .await
            .expect("verify");
        let problem = report.problem.expect("tampering found");
        assert!(
            problem.starts_with("record #14 "),
            "blocks of 2^{height}: {problem}"
        );
    }
}
