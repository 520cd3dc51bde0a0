//! The store's integration tests, one binary: the group-commit writer, the
//! audit log's tiles, the block-wise verify and the anomaly watcher's
//! sliding window, each against a real database in a temporary directory.

#![allow(clippy::expect_used)]

mod anomaly_window;
mod group_commit;
mod tiles;
mod verify_blocks;

use std::sync::Arc;

use hippo_audit::AuditSigningKey;
use hippo_store::{AuditLog, HeadIssuer, Store, StoreOptions};

/// A store on SQLite in `dir` (without blob keys: the log needs none),
/// its audit log, a signing key and a tree-head issuer that signs only
/// when ticked with `force`.
async fn open_log(dir: &std::path::Path) -> (Store, AuditLog, Arc<AuditSigningKey>, HeadIssuer) {
    let store = Store::open(&StoreOptions {
        database_url: None,
        data_dir: dir.to_path_buf(),
        build: "test".into(),
        blob_url: None,
        blob_options: Default::default(),
        keys: None,
    })
    .await
    .expect("store");
    let log = store.audit_log();
    let key = Arc::new(AuditSigningKey::generate());
    let issuer = HeadIssuer::new(log.clone(), key.clone(), u64::MAX, i64::MAX)
        .await
        .expect("issuer");
    (store, log, key, issuer)
}
