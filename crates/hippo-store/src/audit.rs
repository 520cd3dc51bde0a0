//! Appending audit records to the Merkle log. Append is the only operation;
//! the schema's triggers refuse UPDATE and DELETE.
//!
//! Reads append through a group-commit writer: concurrent requests' records
//! are written together in one transaction (one fsync), and each request
//! continues only once its record is durable. Writes append inside their
//! own transaction, so data and record commit together.
//!
//! The writer owns a database connection of its own, outside every pool.
//! Requests may hold pooled connections while they wait for their record;
//! if the writer drew from the same pool, enough waiting requests would
//! hold every connection it could get, and nobody would move (the stall of
//! issue 9). With its own connection, the writer waits only for the
//! database's write lock, and whoever holds that lock (a request's write
//! transaction) never waits for the writer. Every wait of a request is
//! bounded: a full queue or a writer that does not answer in time is a 503.

use hippo_audit::merkle::leaf_hash;
use std::collections::HashSet;

use hippo_core::AuditRecordId;
use hippo_core::audit::{AuditActor, AuditEvent, AuditRecord, RequestOrigin};
use hippo_core::time_util::now_millis;
use std::time::Duration;

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Row};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Cause, StoreError, cause};

/// The most records one group commit writes.
pub(crate) const MAX_BATCH: usize = 1024;
/// Records waiting for the writer; a request finding the queue full waits
/// at most [`QUEUE_WAIT`] for room, then is shed.
const QUEUE_CAPACITY: usize = 8192;
const QUEUE_WAIT: Duration = Duration::from_secs(2);
/// The longest a request waits for its record to become durable. SQLite's
/// busy timeout (10 s) bounds the writer's own wait for the write lock.
const DURABLE_WAIT: Duration = Duration::from_secs(15);
/// Pause before the writer reconnects after a failed batch (database
/// restarted, disk full): the batch fails at once, later ones retry.
pub(crate) const RECONNECT_PAUSE: Duration = Duration::from_millis(200);

pub(crate) struct Pending {
    pub(crate) record: AuditRecord,
    pub(crate) reply: oneshot::Sender<Result<AuditRecord, Cause>>,
}

#[derive(Clone)]
pub struct AuditLog {
    pub(crate) pool: AnyPool,
    /// The SQLite file, for verification's sequential read; `None` on
    /// PostgreSQL.
    pub(crate) path: Option<std::path::PathBuf>,
    build: String,
    writer: mpsc::Sender<Pending>,
}

impl AuditLog {
    /// Start the group-commit writer for `pool`: on SQLite a thread of its
    /// own (`audit_sqlite.rs`), on PostgreSQL a task with a connection of
    /// its own.
    pub(crate) fn start(pool: AnyPool, build: String, path: Option<std::path::PathBuf>) -> Self {
        let (writer, queue) = mpsc::channel(QUEUE_CAPACITY);
        match &path {
            Some(file) => crate::audit_sqlite::start(file.clone(), queue),
            None => {
                let options = (*pool.connect_options()).clone();
                tokio::spawn(group_commit(options, queue));
            }
        }
        Self {
            pool,
            path,
            build,
            writer,
        }
    }

    pub(crate) fn record(
        &self,
        actor: AuditActor,
        event: AuditEvent,
        origin: &RequestOrigin,
    ) -> AuditRecord {
        AuditRecord {
            seq: 0,
            id: AuditRecordId::random(),
            at: now_millis(),
            actor,
            event,
            origin: origin.clone(),
            build: self.build.clone(),
            claim: String::new(),
        }
    }

    /// Append one record; returns once it is durable.
    pub async fn append(
        &self,
        actor: AuditActor,
        event: AuditEvent,
        origin: &RequestOrigin,
    ) -> Result<AuditRecord, StoreError> {
        let answer = self.enqueue(actor, event, origin).await?;
        durable(answer).await
    }

    /// Append several records of one request; returns once all are
    /// durable. They are queued together, so they usually share one
    /// group commit instead of waiting for one commit each.
    pub async fn append_all(
        &self,
        actor: &AuditActor,
        events: Vec<AuditEvent>,
        origin: &RequestOrigin,
    ) -> Result<(), StoreError> {
        let mut answers = Vec::with_capacity(events.len());
        for event in events {
            answers.push(self.enqueue(actor.clone(), event, origin).await?);
        }
        for answer in answers {
            durable(answer).await?;
        }
        Ok(())
    }

    /// Hand a record to the writer (waiting at most [`QUEUE_WAIT`] for
    /// room); the receiver tells when it is durable.
    async fn enqueue(
        &self,
        actor: AuditActor,
        event: AuditEvent,
        origin: &RequestOrigin,
    ) -> Result<oneshot::Receiver<Result<AuditRecord, Cause>>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            record: self.record(actor, event, origin),
            reply,
        };
        self.writer
            .send_timeout(pending, QUEUE_WAIT)
            .await
            .map_err(|e| match e {
                mpsc::error::SendTimeoutError::Timeout(_) => {
                    StoreError::Overloaded("audit queue full")
                }
                mpsc::error::SendTimeoutError::Closed(_) => {
                    StoreError::audit("audit writer stopped", None)
                }
            })?;
        Ok(answer)
    }
}

/// Wait, at most [`DURABLE_WAIT`], until the writer says the record is on
/// disk.
async fn durable(
    answer: oneshot::Receiver<Result<AuditRecord, Cause>>,
) -> Result<AuditRecord, StoreError> {
    match tokio::time::timeout(DURABLE_WAIT, answer).await {
        Err(_) => Err(StoreError::audit("audit record not durable in time", None)),
        Ok(Err(_)) => Err(StoreError::audit("audit writer stopped", None)),
        Ok(Ok(result)) => result.map_err(|e| StoreError::audit("audit group commit failed", e)),
    }
}

impl AuditLog {
    /// Append many records in one transaction (imports, and generating
    /// large logs for benchmarks); the same positions, claims and hashes as
    /// single appends.
    pub async fn append_bulk(
        &self,
        entries: Vec<(AuditActor, AuditEvent, RequestOrigin)>,
    ) -> Result<u64, StoreError> {
        let mut tx = crate::sql::begin_write(&self.pool)
            .await
            .map_err(|e| StoreError::audit("audit append failed", cause(e)))?;
        let mut records: Vec<AuditRecord> = entries
            .into_iter()
            .map(|(actor, event, origin)| self.record(actor, event, &origin))
            .collect();
        insert_all(&mut tx, &mut records.iter_mut().collect::<Vec<_>>()).await?;
        tx.commit()
            .await
            .map_err(|e| StoreError::audit("audit append failed", cause(e)))?;
        Ok(records.len() as u64)
    }
}

/// The writer's own connection, opened on first use and again after a
/// failure (a restarted PostgreSQL, a disk that was full).
struct WriterConnection {
    options: AnyConnectOptions,
    conn: Option<AnyConnection>,
}

impl WriterConnection {
    async fn get(&mut self) -> Result<&mut AnyConnection, Cause> {
        if self.conn.is_none() {
            let mut conn = self.options.connect().await.map_err(cause)?;
            crate::db::prepare_connection(&mut conn, crate::db::ConnectionRole::AuditWriter)
                .await
                .map_err(cause)?;
            self.conn = Some(conn);
        }
        match self.conn.as_mut() {
            Some(conn) => Ok(conn),
            None => Err(cause(StoreError::audit(
                "audit writer has no connection",
                None,
            ))),
        }
    }
}

async fn group_commit(options: AnyConnectOptions, mut queue: mpsc::Receiver<Pending>) {
    let mut writer = WriterConnection {
        options,
        conn: None,
    };
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        take_queued(&mut queue, &mut batch);
        let result = match writer.get().await {
            Ok(conn) => write_batch(conn, &mut batch).await,
            Err(e) => Err(e),
        };
        if result.is_err() {
            // Start the next batch on a fresh connection; the requests of
            // this one are answered 503 at once.
            writer.conn = None;
        }
        let failed = answer_all(batch, result);
        if failed {
            tokio::time::sleep(RECONNECT_PAUSE).await;
        }
    }
}

/// Add what is queued to `batch`, up to [`MAX_BATCH`], without waiting.
pub(crate) fn take_queued(queue: &mut mpsc::Receiver<Pending>, batch: &mut Vec<Pending>) {
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
}

/// Tell every request of a batch how its commit went (a failure is logged
/// once, for the whole batch); true if it failed.
pub(crate) fn answer_all(batch: Vec<Pending>, result: Result<(), Cause>) -> bool {
    if let Err(e) = &result {
        tracing::error!(error = %crate::error::chain(e.as_ref()), records = batch.len(), "audit group commit failed");
    }
    for pending in batch {
        let answer = match &result {
            Ok(()) => Ok(pending.record),
            Err(e) => Err(e.clone()),
        };
        let _ = pending.reply.send(answer);
    }
    result.is_err()
}

async fn write_batch(conn: &mut AnyConnection, batch: &mut [Pending]) -> Result<(), Cause> {
    let mut tx = crate::sql::begin_write_on(conn).await.map_err(cause)?;
    let mut records: Vec<&mut AuditRecord> = batch.iter_mut().map(|p| &mut p.record).collect();
    insert_all(&mut tx, &mut records).await.map_err(cause)?;
    tx.commit().await.map_err(cause)
}

/// Columns of one record, in the order `bind_record` binds them.
pub(crate) const COLUMNS: &str = "seq, id, at, actor_kind, actor_id, actor_tenant_id, action, resource_kind, \
     resource_id, patient_id, tenant_id, outcome, detail, request_id, route, client_addr, user_agent, \
     build, claim, leaf_hash";
const COLUMN_COUNT: usize = 20;

/// Rows per INSERT statement. Every statement through sqlx's SQLite driver
/// is a round trip to its worker thread (two thread wake-ups, ~50 µs on
/// this machine), which cost far more than SQLite's own work when each
/// record had its own statement; 64 rows are 1,280 bound values, well
/// under SQLite's limit of 32,766.
const ROWS_PER_STATEMENT: usize = 64;

/// Insert within the caller's write transaction: the record takes the next
/// position in the log. Callers hold the database's write lock (an
/// IMMEDIATE transaction, or one that has already written), so positions
/// are assigned without gaps or duplicates.
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    record: &mut AuditRecord,
) -> Result<(), StoreError> {
    insert_all(conn, &mut [record]).await
}

/// Insert `records` in order at the next positions of the log, under the
/// same locking rule as [`insert`]: one position lookup for all of them,
/// then multi-row statements.
pub(crate) async fn insert_all(
    conn: &mut AnyConnection,
    records: &mut [&mut AuditRecord],
) -> Result<(), StoreError> {
    let unavailable = |e: sqlx::Error| StoreError::audit("audit insert failed", cause(e));
    if records.is_empty() {
        return Ok(());
    }
    // The single sequencer: on SQLite the write transaction already holds
    // the database's only write lock; on PostgreSQL every instance queues
    // here until this transaction ends, so positions stay gapless and in
    // order however many servers append.
    if crate::sql::Backend::of_connection(conn) == crate::sql::Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(72010001)")
            .execute(&mut *conn)
            .await
            .map_err(unavailable)?;
    }
    let next: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM audit_records")
        .fetch_one(&mut *conn)
        .await
        .map_err(unavailable)?
        .try_get("next")
        .map_err(unavailable)?;
    let claims = ClaimCache::load(conn, records).await.map_err(unavailable)?;
    for (offset, record) in records.iter_mut().enumerate() {
        record.seq = next as u64 + offset as u64;
        record.claim = claims.claim(record).into();
    }
    for chunk in records.chunks(ROWS_PER_STATEMENT) {
        let row = format!("({})", vec!["?"; COLUMN_COUNT].join(", "));
        let sql = format!(
            "INSERT INTO audit_records ({COLUMNS}) VALUES {}",
            crate::sql::placeholders(&row, chunk.len())
        );
        let mut query = sqlx::query(crate::sql::for_connection(conn, sql));
        for record in chunk {
            query = bind_record(query, record);
        }
        query.execute(&mut *conn).await.map_err(unavailable)?;
    }
    Ok(())
}

type InsertQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// The record's leaf hash. The canonical encoding itself is not stored: it
/// is re-made from the columns whenever it is needed (verify), and its
/// leaf hash binds them.
pub(crate) fn leaf_of(record: &AuditRecord) -> hippo_audit::merkle::Hash {
    leaf_hash(&record.canonical_bytes())
}

fn bind_record<'q>(query: InsertQuery<'q>, record: &AuditRecord) -> InsertQuery<'q> {
    let leaf = leaf_of(record).to_vec();
    let e = &record.event;
    query
        .bind(record.seq as i64)
        .bind(record.id.to_string())
        .bind(record.at)
        .bind(record.actor.kind.clone())
        .bind(record.actor.id.clone())
        .bind(record.actor.tenant_id.map(|t| t.to_string()))
        .bind(e.action.as_str())
        .bind(e.resource_kind.as_str())
        .bind(e.resource_id.clone())
        .bind(e.patient_id.map(|p| p.to_string()))
        .bind(e.tenant_id.map(|t| t.to_string()))
        .bind(e.outcome.as_str())
        .bind(e.detail.clone())
        .bind(record.origin.request_id.clone())
        .bind(record.origin.route.clone())
        .bind(record.origin.client_addr.clone())
        .bind(record.origin.user_agent.clone())
        .bind(record.build.clone())
        .bind(record.claim.clone())
        .bind(leaf)
}

/// The patient links of the accounts acting in one insert, read with one
/// statement per 500 accounts: the writer serves every request, so a
/// statement per record (a round trip to the database's worker thread
/// each) would bound the whole server's audit rate.
#[derive(Default)]
struct ClaimCache {
    linked: HashSet<(String, String, String)>,
}

/// Accounts per link lookup (bound values well under both databases'
/// limits).
const ACCOUNTS_PER_STATEMENT: usize = 500;

impl ClaimCache {
    async fn load(
        conn: &mut AnyConnection,
        records: &[&mut AuditRecord],
    ) -> Result<Self, sqlx::Error> {
        let accounts: Vec<&str> = records
            .iter()
            .filter(|r| r.actor.kind == "patient" && r.event.patient_id.is_some())
            .filter_map(|r| r.actor.id.as_deref())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut cache = Self::default();
        for chunk in accounts.chunks(ACCOUNTS_PER_STATEMENT) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT account_id, tenant_id, patient_id FROM account_patients WHERE account_id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for account in chunk {
                query = query.bind(*account);
            }
            for row in query.fetch_all(&mut *conn).await? {
                cache.linked.insert((
                    row.try_get("account_id")?,
                    row.try_get("tenant_id")?,
                    row.try_get("patient_id")?,
                ));
            }
        }
        Ok(cache)
    }

    fn claim(&self, record: &AuditRecord) -> &'static str {
        let linked = |account: &str, tenant: &str, patient: &str| {
            Ok::<_, std::convert::Infallible>(self.linked.contains(&(
                account.to_owned(),
                tenant.to_owned(),
                patient.to_owned(),
            )))
        };
        match claim_of(record, linked) {
            Ok(claim) => claim,
            Err(never) => match never {},
        }
    }
}

/// Whether the actor had a claim to the patient's data when acting: the
/// patient's own account (`linked` says whether an account is linked to a
/// tenant's patient record), or staff / lab system of the patient's
/// facility. Recorded (and hashed) with the record, so that "who had no
/// business here" is an index lookup, not a scan, and cannot be edited
/// unseen.
pub(crate) fn claim_of<E>(
    record: &AuditRecord,
    mut linked: impl FnMut(&str, &str, &str) -> Result<bool, E>,
) -> Result<&'static str, E> {
    let (Some(patient), Some(tenant)) = (record.event.patient_id, record.event.tenant_id) else {
        return Ok("n/a");
    };
    let actor = &record.actor;
    Ok(match actor.kind.as_str() {
        "system" | "operator_cli" => "system",
        "tenant_admin" | "clinician" | "assistant" | "lab_system"
            if actor.tenant_id == Some(tenant) =>
        {
            "tenant"
        }
        // A retrieval code's holder, within the code's tenant (the policy
        // lets it reach the code's one finding only).
        "code_holder" if actor.tenant_id == Some(tenant) => "code",
        "patient" => {
            let account = actor.id.as_deref().unwrap_or_default();
            if linked(account, &tenant.to_string(), &patient.to_string())? {
                "own"
            } else {
                "none"
            }
        }
        _ => "none",
    })
}
