//! The group-commit writer on SQLite: one OS thread of its own with one
//! rusqlite connection, outside every pool.
//!
//! Why not sqlx here, like everywhere else: sqlx runs each SQLite
//! connection on a worker thread and every statement is a hand-off to that
//! thread and back (two context switches, the largest item of the
//! server's profile under load). A batch took five such round trips
//! (BEGIN, next position, claims, the insert, COMMIT), each on the one
//! core the requests need. Here the whole batch runs on the writer's own
//! thread without a single hand-off: requests wake it once through the
//! queue and are woken once by their reply. The same libsqlite3 serves
//! both (rusqlite and sqlx share `libsqlite3-sys`), so the file's locks
//! are one set of locks.
//!
//! The locking rule is the one of `audit.rs`: the writer waits only for the
//! database's write lock (bounded by the busy timeout), and nobody who
//! holds that lock waits for the writer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hippo_core::audit::AuditRecord;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use tokio::sync::mpsc;

use crate::audit::{
    COLUMNS, MAX_BATCH, Pending, RECONNECT_PAUSE, answer_all, claim_of, leaf_of, take_queued,
};
use crate::db::{ConnectionRole, sqlite_pragmas};
use crate::error::{Cause, StoreError, cause};

/// Start the writer thread for the SQLite file at `path`. It ends when
/// every sender of `queue` is gone.
pub(crate) fn start(path: PathBuf, queue: mpsc::Receiver<Pending>) {
    let spawned = std::thread::Builder::new()
        .name("hippo-audit-writer".into())
        .spawn(move || run(&path, queue));
    if let Err(e) = spawned {
        // Without a writer every request that needs a record fails closed
        // with 503 ("audit writer stopped"); say why once.
        tracing::error!(error = %e, "could not start the audit writer thread");
    }
}

fn run(path: &Path, mut queue: mpsc::Receiver<Pending>) {
    let mut conn: Option<Connection> = None;
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        gather(&mut queue, &mut batch);
        let result = match conn.take().map_or_else(|| open(path), Ok) {
            Ok(mut open) => {
                let written = write_batch(&mut open, &mut batch);
                // A connection whose batch failed is not reused: the next
                // batch starts on a fresh one (the file may have been made
                // read-only, or the disk was full, when it was opened).
                if written.is_ok() {
                    conn = Some(open);
                }
                written
            }
            Err(e) => Err(e),
        };
        if answer_all(batch, result) {
            std::thread::sleep(RECONNECT_PAUSE);
        }
    }
}

/// Take what else is queued, and go on taking while the queue grows: the
/// writer gives the core to the requests (`yield_now`) and looks again,
/// at most [`GATHER_ROUNDS`] times, and stops as soon as a look finds
/// nothing new. Without this, on a busy core the writer woke for the
/// first record, committed it nearly alone, and paid a commit (the WAL
/// writes and the fsync, ~0.2 ms of the core) for every one or two
/// records: 1.0–2.6 records a batch at 64 to 1,024 connections, measured.
/// A lone request costs one yield (no other thread wants the core, so it
/// returns at once); nobody waits on a timer.
fn gather(queue: &mut mpsc::Receiver<Pending>, batch: &mut Vec<Pending>) {
    for round in 0..=GATHER_ROUNDS {
        let before = batch.len();
        take_queued(queue, batch);
        let full = batch.len() >= MAX_BATCH;
        let grew = batch.len() > before;
        if full || (round > 0 && !grew) || round == GATHER_ROUNDS {
            return;
        }
        std::thread::yield_now();
    }
}

/// How often the writer yields to let a batch grow before it commits.
const GATHER_ROUNDS: usize = 8;

fn unavailable(e: rusqlite::Error) -> Cause {
    cause(StoreError::audit("audit insert failed", cause(e)))
}

fn open(path: &Path) -> Result<Connection, Cause> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(unavailable)?;
    // The busy handler below (10 s) bounds the wait for the write lock;
    // requests give up on their record after `audit::DURABLE_WAIT`
    // (longer), so a batch never outlives them unanswered.
    conn.execute_batch(&sqlite_pragmas(ConnectionRole::AuditWriter))
        .map_err(unavailable)?;
    conn.busy_handler(Some(retry_soon)).map_err(unavailable)?;
    Ok(conn)
}

/// The audit writer's busy handler, in place of the busy timeout: try for
/// the write lock again every millisecond, for at most [`LOCK_WAIT`].
/// SQLite's own handler backs off to 100 ms naps, and while the writer
/// slept, request transactions took the lock again and again: under a
/// soak's mixed load its batches waited 330–430 ms for the lock, and every
/// request waits for its record (a CI soak shed 151 requests after a 2 s
/// stall). Polling every millisecond costs nothing while the lock is
/// free and takes it within a millisecond of its release.
fn retry_soon(attempt: i32) -> bool {
    if Duration::from_millis(attempt.max(0) as u64) >= LOCK_WAIT {
        return false;
    }
    std::thread::sleep(Duration::from_millis(1));
    true
}

/// The longest the writer waits for the write lock (the busy timeout of
/// the other connections).
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// One transaction: next position, claims, one prepared insert per record,
/// commit (the one fsync of the batch).
fn write_batch(conn: &mut Connection, batch: &mut [Pending]) -> Result<(), Cause> {
    let started = Instant::now();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    let locked = started.elapsed();
    let next: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_records",
            [],
            |row| row.get(0),
        )
        .map_err(unavailable)?;
    {
        let mut links = LinkLookup::new(&tx).map_err(unavailable)?;
        let mut insert = tx
            .prepare(&format!(
                "INSERT INTO audit_records ({COLUMNS}) VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
            ))
            .map_err(unavailable)?;
        for (offset, pending) in batch.iter_mut().enumerate() {
            let record = &mut pending.record;
            record.seq = next as u64 + offset as u64;
            let claim = claim_of(record, |account, tenant, patient| {
                links.linked(account, tenant, patient)
            })
            .map_err(unavailable)?;
            record.claim = claim.into();
            insert_one(&mut insert, record).map_err(unavailable)?;
        }
    }
    let written = started.elapsed();
    tx.commit().map_err(unavailable)?;
    let total = started.elapsed();
    // Every request waits for its record: a slow batch is a stall of the
    // whole server, and which phase it spent in tells why (the write lock
    // held by someone else, or the commit's WAL write and fsync).
    if total >= SLOW_BATCH {
        tracing::warn!(
            records = batch.len(),
            lock_wait_ms = locked.as_millis() as u64,
            insert_ms = (written - locked).as_millis() as u64,
            commit_ms = (total - written).as_millis() as u64,
            "slow audit batch"
        );
    }
    Ok(())
}

/// A batch slower than this is reported with its phases.
const SLOW_BATCH: Duration = Duration::from_millis(250);

fn insert_one(
    insert: &mut rusqlite::Statement<'_>,
    record: &AuditRecord,
) -> rusqlite::Result<usize> {
    let e = &record.event;
    insert.execute(params![
        record.seq as i64,
        record.id.to_string(),
        record.at,
        record.actor.kind,
        record.actor.id,
        record.actor.tenant_id.map(|t| t.to_string()),
        e.action.as_str(),
        e.resource_kind.as_str(),
        e.resource_id,
        e.patient_id.map(|p| p.to_string()),
        e.tenant_id.map(|t| t.to_string()),
        e.outcome.as_str(),
        e.detail,
        record.origin.request_id,
        record.origin.route,
        record.origin.client_addr,
        record.origin.user_agent,
        record.build,
        record.claim,
        leaf_of(record).as_slice(),
    ])
}

/// Whether an account was linked to a patient record of a tenant, looked
/// up once per account, tenant and patient in a batch (a patient reading a
/// list appends one record per finding of the same patient).
struct LinkLookup<'c> {
    statement: rusqlite::Statement<'c>,
    seen: HashMap<(String, String, String), bool>,
}

impl<'c> LinkLookup<'c> {
    fn new(conn: &'c Connection) -> rusqlite::Result<Self> {
        Ok(Self {
            statement: conn.prepare(
                "SELECT EXISTS (SELECT 1 FROM account_patients \
                 WHERE account_id = ?1 AND tenant_id = ?2 AND patient_id = ?3)",
            )?,
            seen: HashMap::new(),
        })
    }

    fn linked(&mut self, account: &str, tenant: &str, patient: &str) -> rusqlite::Result<bool> {
        let key = (account.to_owned(), tenant.to_owned(), patient.to_owned());
        if let Some(linked) = self.seen.get(&key) {
            return Ok(*linked);
        }
        let linked = self
            .statement
            .query_row(params![account, tenant, patient], |row| row.get(0))?;
        self.seen.insert(key, linked);
        Ok(linked)
    }
}
