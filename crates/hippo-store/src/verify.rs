//! `hippo audit verify`: recompute the whole log and check it against its
//! signed tree heads. Names the first record or head that is wrong.

use ed25519_dalek::VerifyingKey;
use hippo_audit::merkle::{consistency_proof, leaf_hash, verify_consistency};
use hippo_audit::{CompactRange, Hash};
use hippo_core::audit::CanonicalFields;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AssertSqlSafe, Row};

use crate::audit::AuditLog;
use crate::error::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    pub heads: u64,
    /// The first problem found, in log order; `None` means intact.
    pub problem: Option<String>,
}

const PAGE: i64 = 20_000;

/// Columns in the order `check_range` reads them by index.
const COLUMNS: &str = "seq, at, id, actor_kind, actor_id, actor_tenant_id, action, resource_kind, \
     resource_id, patient_id, tenant_id, outcome, detail, request_id, route, client_addr, user_agent, \
     build, claim, canonical, leaf_hash";

/// Verify records `first..=last`: positions without gaps, fields that
/// re-encode to the stored encoding, and leaf hashes of that encoding.
/// Returns the leaves, or the first problem.
async fn check_range(
    pool: sqlx::SqlitePool,
    first: u64,
    last: u64,
    done: Arc<AtomicU64>,
) -> Result<Result<Vec<Hash>, String>, StoreError> {
    let mut leaves = Vec::with_capacity((last + 1 - first) as usize);
    let mut expected = first;
    let mut encoded = Vec::with_capacity(512);
    while expected <= last {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM audit_records WHERE seq BETWEEN ? AND ? ORDER BY seq LIMIT ?"
        )))
        .bind(expected as i64)
        .bind(last as i64)
        .bind(PAGE)
        .fetch_all(&pool)
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let seq = row.try_get::<i64, _>(0)? as u64;
            if seq != expected {
                return Ok(Err(format!(
                    "record #{expected} is missing: the log jumps from #{} to #{seq}",
                    expected - 1
                )));
            }
            // Borrowed from the row: no allocation per column.
            let text = |i: usize| row.try_get::<&str, _>(i);
            let opt = |i: usize| row.try_get::<Option<&str>, _>(i);
            let id = text(2)?;
            CanonicalFields {
                seq,
                at: row.try_get(1)?,
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
            let canonical: &[u8] = row.try_get(19)?;
            let stored_leaf: &[u8] = row.try_get(20)?;
            let leaf = leaf_hash(canonical);
            if encoded != canonical || stored_leaf != leaf {
                return Ok(Err(format!(
                    "record #{seq} ({id}) was altered: its fields, its encoding and its hash disagree"
                )));
            }
            leaves.push(leaf);
            expected += 1;
        }
        done.fetch_add(rows.len() as u64, Ordering::Relaxed);
    }
    if expected <= last {
        // The log ends before `last`: reported by the head checks
        // (truncation) if a head covers the missing tail.
        leaves.shrink_to_fit();
    }
    Ok(Ok(leaves))
}

impl AuditLog {
    /// Check every record and every signed head, on every core. `progress`
    /// is called with (records checked, total) as work proceeds.
    pub async fn verify(
        &self,
        key: &VerifyingKey,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<VerifyReport, StoreError> {
        let total = self.size().await?;
        let heads = self.heads().await?;
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8) as u64;
        let per = total.div_ceil(workers).max(1);
        let done = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        let mut first = 1;
        while first <= total {
            let last = (first + per - 1).min(total);
            tasks.push(tokio::spawn(check_range(
                self.pool.clone(),
                first,
                last,
                done.clone(),
            )));
            first = last + 1;
        }
        let mut leaves: Vec<Hash> = Vec::with_capacity(total as usize);
        let mut problem = None;
        let mut ranges = Vec::new();
        for task in tasks {
            let mut task = task;
            let result = loop {
                tokio::select! {
                    r = &mut task => break r,
                    _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {
                        progress(done.load(Ordering::Relaxed), total);
                    }
                }
            };
            ranges.push(
                result.map_err(|e| StoreError::Corrupt(format!("verifier task failed: {e}")))??,
            );
        }
        // Ranges in log order: the first problem of the earliest range is
        // the first problem of the log.
        for range in ranges {
            match range {
                Ok(mut part) if problem.is_none() => leaves.append(&mut part),
                Ok(_) => {}
                Err(p) => {
                    problem.get_or_insert(p);
                }
            }
        }
        progress(done.load(Ordering::Relaxed), total);
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

/// Every head must be validly signed, cover no more than the log holds, and
/// have the root of the records it covers; the oldest and the newest head
/// are also checked with an RFC 9162 consistency proof.
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
    if let (Some(first), Some(last)) = (heads.first(), heads.last())
        && first.head.size > 0
        && first.head.size < last.head.size
    {
        let n = last.head.size as usize;
        let proof = consistency_proof(first.head.size as usize, &leaves[..n])?;
        if !verify_consistency(
            first.head.size,
            last.head.size,
            &first.head.root,
            &last.head.root,
            &proof,
        ) {
            return Some("the oldest and newest signed heads are not consistent".into());
        }
    }
    None
}
