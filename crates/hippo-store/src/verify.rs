//! `hippo audit verify`: recompute the whole log and check it against its
//! signed tree heads. Names the first record or head that is wrong.

use ed25519_dalek::VerifyingKey;
use hippo_audit::merkle::leaf_hash;
use hippo_audit::{CompactRange, Hash};
use hippo_core::audit::CanonicalFields;
use std::collections::BTreeMap;
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

/// Columns in the order `scan` reads them by index. `$n` placeholders:
/// SQLite (through rusqlite) and sqlx on both backends accept them.
const SCAN: &str = "SELECT seq, at, id, actor_kind, actor_id, actor_tenant_id, action, resource_kind, \
     resource_id, patient_id, tenant_id, outcome, detail, request_id, route, client_addr, user_agent, \
     build, claim, leaf_hash FROM audit_records WHERE seq BETWEEN $1 AND $2 ORDER BY seq";

fn corrupt(e: rusqlite::Error) -> StoreError {
    StoreError::Corrupt(format!("reading the audit log: {e}"))
}

/// Records per block (2^16): the unit of work of one verifier thread. A
/// power of two, so that each block is a perfect subtree of the log's
/// Merkle tree and the threads' compact ranges join without rehashing.
const BLOCK_HEIGHT: u32 = 16;

/// What one block contributes: its compact range, and the range as it was
/// at every head size that falls inside the block.
struct Block {
    range: CompactRange,
    at_heads: Vec<(u64, CompactRange)>,
}

/// A block, or the first problem in it.
type Scanned = Result<Block, String>;

/// One stored record's columns, in the order of `SCAN`, from either
/// backend's rows.
trait RecordColumns {
    fn integer(&self, i: usize) -> Result<i64, StoreError>;
    /// Column bytes as stored (text or blob), without a UTF-8 check.
    fn bytes(&self, i: usize) -> Result<&[u8], StoreError>;
    fn bytes_or_null(&self, i: usize) -> Result<Option<&[u8]>, StoreError>;
}

impl RecordColumns for rusqlite::Row<'_> {
    fn integer(&self, i: usize) -> Result<i64, StoreError> {
        self.get(i).map_err(corrupt)
    }
    fn bytes(&self, i: usize) -> Result<&[u8], StoreError> {
        self.get_ref(i)
            .map_err(corrupt)?
            .as_bytes()
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }
    fn bytes_or_null(&self, i: usize) -> Result<Option<&[u8]>, StoreError> {
        self.get_ref(i)
            .map_err(corrupt)?
            .as_bytes_or_null()
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// A record read through sqlx (PostgreSQL): its columns copied out.
struct OwnedRecord {
    integers: [i64; 2],
    columns: Vec<Option<Vec<u8>>>,
}

impl OwnedRecord {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, StoreError> {
        use sqlx::Row;
        let mut columns = vec![None, None];
        for i in 2..=18 {
            columns.push(row.try_get::<Option<String>, _>(i)?.map(String::into_bytes));
        }
        columns.push(row.try_get::<Option<Vec<u8>>, _>(19)?);
        Ok(Self {
            integers: [row.try_get(0)?, row.try_get(1)?],
            columns,
        })
    }
}

impl RecordColumns for OwnedRecord {
    fn integer(&self, i: usize) -> Result<i64, StoreError> {
        self.integers
            .get(i)
            .copied()
            .ok_or_else(|| StoreError::Corrupt(format!("column {i} is not an integer")))
    }
    fn bytes(&self, i: usize) -> Result<&[u8], StoreError> {
        self.bytes_or_null(i)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {i} is null")))
    }
    fn bytes_or_null(&self, i: usize) -> Result<Option<&[u8]>, StoreError> {
        Ok(self.columns.get(i).and_then(|c| c.as_deref()))
    }
}

/// Checks the records of one block, `first..=last`, as they come: their
/// positions, their encoding re-made from their columns, their hashes;
/// builds the block's compact range, remembering it at every head size.
struct BlockCheck<'h> {
    block: Block,
    heads: std::iter::Peekable<std::slice::Iter<'h, u64>>,
    encoded: Vec<u8>,
    expected: u64,
    last: u64,
}

impl<'h> BlockCheck<'h> {
    fn new(first: u64, last: u64, head_sizes: &'h [u64]) -> Self {
        let from = head_sizes.partition_point(|&size| size < first);
        Self {
            block: Block {
                range: CompactRange::default(),
                at_heads: Vec::new(),
            },
            heads: head_sizes[from..].iter().peekable(),
            encoded: Vec::with_capacity(512),
            expected: first,
            last,
        }
    }

    /// `Err` with the problem if this record is wrong.
    fn accept(&mut self, row: &impl RecordColumns, done: &AtomicU64) -> Result<(), String> {
        let expected = self.expected;
        let seq = row
            .integer(0)
            .map_err(|e| format!("record #{expected} was altered: {e}"))? as u64;
        if seq != expected {
            return Err(format!(
                "record #{expected} is missing: the log jumps from #{} to #{seq}",
                expected - 1
            ));
        }
        // Any column of the wrong type is an altered record, like any
        // other difference.
        let encoded = &mut self.encoded;
        let mut check = || -> Result<(bool, Hash, String), StoreError> {
            let id = row.bytes(2)?;
            CanonicalFields::<[u8]> {
                seq,
                at: row.integer(1)?,
                id,
                actor_kind: row.bytes(3)?,
                actor_id: row.bytes_or_null(4)?,
                actor_tenant_id: row.bytes_or_null(5)?,
                action: row.bytes(6)?,
                resource_kind: row.bytes(7)?,
                resource_id: row.bytes_or_null(8)?,
                patient_id: row.bytes_or_null(9)?,
                tenant_id: row.bytes_or_null(10)?,
                outcome: row.bytes(11)?,
                detail: row.bytes_or_null(12)?,
                request_id: row.bytes(13)?,
                route: row.bytes_or_null(14)?,
                client_addr: row.bytes_or_null(15)?,
                user_agent: row.bytes_or_null(16)?,
                build: row.bytes(17)?,
                claim: row.bytes(18)?,
            }
            .encode_into(encoded);
            // The encoding is not stored: the leaf hash of the encoding
            // re-made from the columns must be the stored one, and the
            // signed heads bind the stored ones.
            let leaf = leaf_hash(encoded);
            Ok((
                row.bytes(19)? == leaf,
                leaf,
                String::from_utf8_lossy(id).into_owned(),
            ))
        };
        let leaf = match check() {
            Ok((true, leaf, _)) => leaf,
            Ok((false, _, id)) => {
                return Err(format!(
                    "record #{seq} ({id}) was altered: its fields, its encoding and its hash disagree"
                ));
            }
            Err(e) => return Err(format!("record #{seq} was altered: {e}")),
        };
        self.block.range.push(leaf);
        if self.heads.next_if(|&&size| size == expected).is_some() {
            self.block
                .at_heads
                .push((expected, self.block.range.clone()));
        }
        self.expected += 1;
        if self.expected.is_multiple_of(10_000) {
            done.fetch_add(10_000, Ordering::Relaxed);
        }
        Ok(())
    }

    fn finish(self) -> Scanned {
        if self.expected <= self.last {
            return Err(format!(
                "record #{} is missing: nothing follows #{}",
                self.expected,
                self.expected - 1
            ));
        }
        Ok(self.block)
    }
}

/// Scan records `first..=last` (one block) on `statement`.
fn scan(
    statement: &mut rusqlite::Statement<'_>,
    first: u64,
    last: u64,
    head_sizes: &[u64],
    done: &AtomicU64,
) -> Result<Scanned, StoreError> {
    let mut rows = statement
        .query([first as i64, last as i64])
        .map_err(corrupt)?;
    let mut check = BlockCheck::new(first, last, head_sizes);
    while let Some(row) = rows.next().map_err(corrupt)? {
        if let Err(problem) = check.accept(row, done) {
            return Ok(Err(problem));
        }
    }
    Ok(check.finish())
}

/// The same scan through sqlx, for PostgreSQL (one block in memory).
async fn scan_pooled(
    pool: &sqlx::AnyPool,
    first: u64,
    last: u64,
    head_sizes: &[u64],
    done: &AtomicU64,
) -> Result<Scanned, StoreError> {
    let rows = sqlx::query(SCAN)
        .bind(first as i64)
        .bind(last as i64)
        .fetch_all(pool)
        .await?;
    let mut check = BlockCheck::new(first, last, head_sizes);
    for row in &rows {
        if let Err(problem) = check.accept(&OwnedRecord::from_row(row)?, done) {
            return Ok(Err(problem));
        }
    }
    Ok(check.finish())
}

/// One verifier thread: its own read-only connection, memory-mapped so
/// that pages are not copied out of the OS cache, and blocks taken in
/// turn from `next_block` until none is left or an earlier block failed.
fn verifier(
    path: &Path,
    total: u64,
    block: u64,
    head_sizes: &[u64],
    next_block: &AtomicU64,
    first_failed: &AtomicU64,
    done: &AtomicU64,
) -> Result<Vec<(u64, Scanned)>, StoreError> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(corrupt)?;
    conn.pragma_update(None, "mmap_size", 1i64 << 40)
        .map_err(corrupt)?;
    let mut statement = conn.prepare(SCAN).map_err(corrupt)?;
    let mut results = Vec::new();
    loop {
        let index = next_block.fetch_add(1, Ordering::Relaxed);
        let first = index * block + 1;
        if first > total || index > first_failed.load(Ordering::Relaxed) {
            return Ok(results);
        }
        let last = ((index + 1) * block).min(total);
        let block = scan(&mut statement, first, last, head_sizes, done)?;
        if block.is_err() {
            first_failed.fetch_min(index, Ordering::Relaxed);
        }
        results.push((index, block));
    }
}

impl AuditLog {
    /// Check every record and every signed head. `progress(done, total)` is
    /// called as records are read.
    pub async fn verify(
        &self,
        key: &VerifyingKey,
        progress: impl FnMut(u64, u64),
    ) -> Result<VerifyReport, StoreError> {
        self.verify_in_blocks(key, BLOCK_HEIGHT, progress).await
    }

    /// [`Self::verify`] with blocks of 2^`block_height` records; tests use
    /// small blocks so that small logs cross many block boundaries.
    pub async fn verify_in_blocks(
        &self,
        key: &VerifyingKey,
        block_height: u32,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<VerifyReport, StoreError> {
        let block = 1u64 << block_height.min(40);
        let total = self.size().await?;
        let heads = self.heads().await?;
        let mut head_sizes: Vec<u64> = heads.iter().map(|h| h.head.size).collect();
        head_sizes.sort_unstable();
        head_sizes.dedup();
        let head_sizes = Arc::new(head_sizes);
        let done = Arc::new(AtomicU64::new(0));
        let next_block = Arc::new(AtomicU64::new(0));
        let first_failed = Arc::new(AtomicU64::new(u64::MAX));
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8);
        let Some(file) = self.path.clone() else {
            // PostgreSQL: block after block through the pool.
            let mut blocks = BTreeMap::new();
            let mut first = 1;
            while first <= total {
                let last = (first + block - 1).min(total);
                let scanned = scan_pooled(&self.pool, first, last, &head_sizes, &done).await?;
                progress(done.load(Ordering::Relaxed), total);
                let failed = scanned.is_err();
                blocks.insert(first / block, scanned);
                if failed {
                    break;
                }
                first = last + 1;
            }
            return join_blocks(blocks, &heads, total, key);
        };
        let mut tasks = Vec::new();
        for _ in 0..workers {
            let path = file.clone();
            let (sizes, next, failed, counter) = (
                head_sizes.clone(),
                next_block.clone(),
                first_failed.clone(),
                done.clone(),
            );
            tasks.push(tokio::task::spawn_blocking(move || {
                verifier(&path, total, block, &sizes, &next, &failed, &counter)
            }));
        }
        let mut blocks = BTreeMap::new();
        for mut task in tasks {
            let finished = loop {
                tokio::select! {
                    result = &mut task => break result,
                    _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {
                        progress(done.load(Ordering::Relaxed), total);
                    }
                }
            };
            let finished =
                finished.map_err(|e| StoreError::Corrupt(format!("verifier failed: {e}")))??;
            blocks.extend(finished);
        }
        progress(total, total);
        join_blocks(blocks, &heads, total, key)
    }
}

/// Join the blocks in log order: the first problem is the earliest, and
/// the root at every head size is the blocks before it joined with the
/// range inside its own block.
fn join_blocks(
    blocks: BTreeMap<u64, Scanned>,
    heads: &[hippo_audit::SignedTreeHead],
    total: u64,
    key: &VerifyingKey,
) -> Result<VerifyReport, StoreError> {
    let misaligned = || StoreError::Corrupt("verifier blocks misaligned".into());
    let mut whole = CompactRange::default();
    let mut roots = BTreeMap::new();
    let mut problem = None;
    for (_, block) in blocks {
        let block = match block {
            Ok(block) => block,
            Err(p) => {
                problem = Some(p);
                break;
            }
        };
        for (size, inside) in &block.at_heads {
            let mut at_head = whole.clone();
            if !at_head.append(inside) {
                return Err(misaligned());
            }
            roots.insert(*size, at_head.root());
        }
        if !whole.append(&block.range) {
            return Err(misaligned());
        }
    }
    let records = whole.size();
    if problem.is_none() {
        problem = check_heads(heads, total, &roots, key);
    }
    Ok(VerifyReport {
        records,
        heads: heads.len() as u64,
        problem,
    })
}

/// Every head must be validly signed, cover no more than the log holds,
/// and have exactly the root of the records it covers. Holding the whole
/// log, this is the strongest form of consistency: every head is a prefix
/// of the same recomputed log, so every pair of heads is consistent (RFC
/// 9162 consistency proofs are for clients that hold only two heads; the
/// tests check them against heads of a live log).
fn check_heads(
    heads: &[hippo_audit::SignedTreeHead],
    total: u64,
    roots: &BTreeMap<u64, Hash>,
    key: &VerifyingKey,
) -> Option<String> {
    let mut previous = 0u64;
    for signed in heads {
        let head = signed.head;
        if !signed.verify(key) {
            return Some(format!(
                "the tree head for {} records has an invalid signature (forged or signed by another key)",
                head.size
            ));
        }
        if head.size > total {
            return Some(format!(
                "the log was truncated: a signed head covers {} records, the log holds {total}; records #{}..#{} are gone",
                head.size,
                total + 1,
                head.size
            ));
        }
        let root = match head.size {
            0 => hippo_audit::merkle::empty_root(),
            size => match roots.get(&size) {
                Some(root) => *root,
                None => return Some(format!("no recomputed root for {size} records")),
            },
        };
        if root != head.root {
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
