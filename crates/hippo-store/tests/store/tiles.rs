//! The tree-head issuer keeps the root of every 256-record tile; proofs
//! and restarts are built from tiles instead of every leaf. Both must give
//! exactly what the whole log gives.

use hippo_audit::merkle::{root, verify_inclusion};
use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_store::HeadIssuer;

fn access(i: usize) -> (AuditActor, AuditEvent, RequestOrigin) {
    (
        AuditActor {
            kind: "system".into(),
            id: None,
            tenant_id: None,
        },
        AuditEvent::new(Action::Public, ResourceKind::None, Outcome::Success),
        RequestOrigin {
            request_id: format!("req-{i}"),
            ..RequestOrigin::default()
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_and_restarts_from_tiles_match_the_whole_log() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, log, key, mut issuer) = super::open_log(dir.path()).await;
    // 700 records in steps that end inside and on tile boundaries.
    let mut size = 0;
    for step in [100, 156, 1, 255, 188] {
        log.append_bulk((size..size + step).map(access).collect())
            .await
            .expect("append");
        size += step;
        let head = issuer.tick(true).await.expect("tick").expect("head");
        let leaves = log.leaf_hashes(1, size as u64).await.expect("leaves");
        assert_eq!(head.head.root, root(&leaves), "head at {size}");
    }
    assert_eq!(log.tiles(0, 10).await.expect("tiles").len(), 2);

    // A restarted issuer starts from the tiles and the last partial tile.
    let mut restarted = HeadIssuer::new(log.clone(), key.clone(), u64::MAX, i64::MAX)
        .await
        .expect("restart");
    log.append_bulk((700..720).map(access).collect())
        .await
        .expect("append");
    let head = restarted.tick(true).await.expect("tick").expect("head");
    let leaves = log.leaf_hashes(1, 720).await.expect("leaves");
    assert_eq!(head.head.root, root(&leaves));

    // Proofs for records in the first, a middle and the partial last tile,
    // and on tile edges, verify against the latest signed head.
    let ids: Vec<String> = store
        .unscoped_forensics()
        .accesses(&hippo_store::ForensicFilter {
            limit: Some(1_000),
            ..Default::default()
        })
        .await
        .expect("records")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids.len(), 720);
    for position in [1usize, 2, 256, 257, 512, 513, 700, 720] {
        let proof = log
            .inclusion_proof(&ids[position - 1])
            .await
            .expect("proof");
        assert_eq!(proof.leaf_index, position as u64 - 1);
        assert!(
            verify_inclusion(
                proof.leaf_index,
                proof.head.head.size,
                &proof.leaf_hash,
                &proof.audit_path,
                &proof.head.head.root
            ),
            "record #{position}"
        );
    }
}
