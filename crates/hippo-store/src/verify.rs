//! `hippo audit verify`: recompute the whole log and check it against its
//! signed tree heads. Names the first record or head that is wrong.

use ed25519_dalek::VerifyingKey;
use hippo_audit::merkle::leaf_hash;
use hippo_audit::{CompactRange, Hash};
use hippo_core::audit::CanonicalFields;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::audit::AuditLog;
use crate::error::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    pub heads: u64,
    /// The first problem found, in log order; `None` means intact.
    pub problem: Option<String>,
}

/// Columns in the order `scan` reads them by index.
const SCAN: &str = "SELECT seq, at, id, actor_kind, actor_id, actor_tenant_id, action, resource_kind, \
     resource_id, patient_id, tenant_id, outcome, detail, request_id, route, client_addr, user_agent, \
     build, claim, canonical, leaf_hash FROM audit_records WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq";

fn corrupt(e: rusqlite::Error) -> StoreError {
    StoreError::Corrupt(format!("reading the audit log: {e}"))
}

/// One sequential pass over the log on a plain SQLite cursor (rusqlite on
/// a blocking thread): sqlx hands each row across threads, which costs more
/// than hashing it. Checks positions, re-encodes every record from its
/// columns and re-hashes it. Returns the leaves, or the first problem.
fn scan(
    path: &Path,
    first: u64,
    last: u64,
    done: &AtomicU64,
) -> Result<Result<Vec<Hash>, String>, StoreError> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(corrupt)?;
    let mut statement = conn.prepare(SCAN).map_err(corrupt)?;
    let mut rows = statement
        .query([first as i64, last as i64])
        .map_err(corrupt)?;
    let mut leaves = Vec::with_capacity((last + 1).saturating_sub(first) as usize);
    let mut encoded = Vec::with_capacity(512);
    let mut expected = first;
    while let Some(row) = rows.next().map_err(corrupt)? {
        let text = |i: usize| -> Result<&str, StoreError> {
            row.get_ref(i)
                .map_err(corrupt)?
                .as_str()
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        };
        let opt = |i: usize| -> Result<Option<&str>, StoreError> {
            row.get_ref(i)
                .map_err(corrupt)?
                .as_str_or_null()
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        };
        let blob = |i: usize| -> Result<&[u8], StoreError> {
            row.get_ref(i)
                .map_err(corrupt)?
                .as_bytes()
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        };
        let seq = row.get::<_, i64>(0).map_err(corrupt)? as u64;
        if seq != expected {
            return Ok(Err(format!(
                "record #{expected} is missing: the log jumps from #{} to #{seq}",
                expected - 1
            )));
        }
        // Any column of the wrong type is an altered record, like any
        // other difference.
        let mut check = || -> Result<(bool, Hash, String), StoreError> {
            let id = text(2)?;
            CanonicalFields {
                seq,
                at: row.get(1).map_err(corrupt)?,
                id,
                actor_kind: text(3)?,
                actor_id: opt(4)?,
                actor_tenant_id: opt(5)?,
                action: text(6)?,
                resource_kind: text(7)?,
                resource_id: opt(8)?,
                patient_id: opt(9)?,
                tenant_id: opt(10)?,
                outcome: text(11)?,
                detail: opt(12)?,
                request_id: text(13)?,
                route: opt(14)?,
                client_addr: opt(15)?,
                user_agent: opt(16)?,
                build: text(17)?,
                claim: text(18)?,
            }
            .encode_into(&mut encoded);
            let canonical = blob(19)?;
            let leaf = leaf_hash(canonical);
            Ok((
                encoded == canonical && blob(20)? == leaf,
                leaf,
                id.to_owned(),
            ))
        };
        let leaf = match check() {
            Ok((true, leaf, _)) => leaf,
            Ok((false, _, id)) => {
                return Ok(Err(format!(
                    "record #{seq} ({id}) was altered: its fields, its encoding and its hash disagree"
                )));
            }
            Err(e) => return Ok(Err(format!("record #{seq} was altered: {e}"))),
        };
        leaves.push(leaf);
        expected += 1;
        if expected.is_multiple_of(10_000) {
            done.fetch_add(10_000, Ordering::Relaxed);
        }
    }
    if expected <= last {
        return Ok(Err(format!(
            "record #{expected} is missing: nothing follows #{}",
            expected - 1
        )));
    }
    Ok(Ok(leaves))
}

impl AuditLog {
    /// Check every record and every signed head. `progress(done, total)` is
    /// called as records are read.
    pub async fn verify(
        &self,
        key: &VerifyingKey,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<VerifyReport, StoreError> {
        let total = self.size().await?;
        let heads = self.heads().await?;
        let done = Arc::new(AtomicU64::new(0));
        // One range per core, each on its own connection and thread.
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8) as u64;
        let per = total.div_ceil(workers).max(1);
        let mut tasks = Vec::new();
        let mut first = 1;
        while first <= total {
            let last = (first + per - 1).min(total);
            let (path, counter) = (self.path.clone(), done.clone());
            tasks.push(tokio::task::spawn_blocking(move || {
                scan(&path, first, last, &counter)
            }));
            first = last + 1;
        }
        let mut leaves: Vec<Hash> = Vec::with_capacity(total as usize);
        let mut problem = None;
        for mut task in tasks {
            let scanned = loop {
                tokio::select! {
                    result = &mut task => break result,
                    _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {
                        progress(done.load(Ordering::Relaxed), total);
                    }
                }
            };
            let scanned =
                scanned.map_err(|e| StoreError::Corrupt(format!("verifier failed: {e}")))??;
            // Ranges come in log order: the first problem is the earliest.
            match scanned {
                Ok(mut part) if problem.is_none() => leaves.append(&mut part),
                Ok(_) => {}
                Err(p) => {
                    problem.get_or_insert(p);
                }
            }
        }
        progress(total, total);
        let records = leaves.len() as u64;
        if problem.is_none() {
            problem = check_heads(&heads, &leaves, key);
        }
        Ok(VerifyReport {
            records,
            heads: heads.len() as u64,
            problem,
        })
    }
}

/// Every head must be validly signed, cover no more than the log holds,
/// and have exactly the root of the records it covers. Holding the whole
/// log, this is the strongest form of consistency: every head is a prefix
/// of the same recomputed log, so every pair of heads is consistent (RFC
/// 9162 consistency proofs are for clients that hold only two heads; the
/// tests check them against heads of a live log).
fn check_heads(
    heads: &[hippo_audit::SignedTreeHead],
    leaves: &[Hash],
    key: &VerifyingKey,
) -> Option<String> {
    let mut range = CompactRange::default();
    let mut previous = 0u64;
    for signed in heads {
        let head = signed.head;
        if !signed.verify(key) {
            return Some(format!(
                "the tree head for {} records has an invalid signature (forged or signed by another key)",
                head.size
            ));
        }
        if head.size > leaves.len() as u64 {
            return Some(format!(
                "the log was truncated: a signed head covers {} records, the log holds {}; records #{}..#{} are gone",
                head.size,
                leaves.len(),
                leaves.len() + 1,
                head.size
            ));
        }
        while range.size() < head.size {
            range.push(leaves[range.size() as usize]);
        }
        if range.root() != head.root {
            return Some(format!(
                "the records #{}..#{} do not match the signed head for {} records: one of them was changed, removed or reordered",
                previous + 1,
                head.size,
                head.size
            ));
        }
        previous = head.size;
    }
    None
}
