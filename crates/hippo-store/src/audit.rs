//! Appending audit records to the Merkle log. Append is the only operation;
//! the schema's triggers refuse UPDATE and DELETE.
//!
//! Reads append through a group-commit writer: concurrent requests' records
//! are written together in one transaction (one fsync), and each request
//! continues only once its record is durable. Writes append inside their
//! own transaction, so data and record commit together.

use hippo_audit::merkle::leaf_hash;
use hippo_core::AuditRecordId;
use hippo_core::audit::{AuditActor, AuditEvent, AuditRecord, RequestOrigin};
use hippo_core::time_util::now_millis;
use sqlx::{Row, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::error::StoreError;

/// The most records one group commit writes.
const MAX_BATCH: usize = 512;

struct Pending {
    record: AuditRecord,
    reply: oneshot::Sender<Result<AuditRecord, String>>,
}

#[derive(Clone)]
pub struct AuditLog {
    pub(crate) pool: SqlitePool,
    /// The database file, for verification's sequential read.
    pub(crate) path: std::path::PathBuf,
    build: String,
    writer: mpsc::Sender<Pending>,
}

impl AuditLog {
    /// Start the group-commit writer for `pool`.
    pub(crate) fn start(pool: SqlitePool, build: String, path: std::path::PathBuf) -> Self {
        let (writer, queue) = mpsc::channel(4096);
        tokio::spawn(group_commit(pool.clone(), queue));
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
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            record: self.record(actor, event, origin),
            reply,
        };
        self.writer
            .send(pending)
            .await
            .map_err(|_| StoreError::AuditUnavailable("audit writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::AuditUnavailable("audit writer stopped".into()))?
            .map_err(StoreError::AuditUnavailable)
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
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| StoreError::AuditUnavailable(e.to_string()))?;
        let n = entries.len() as u64;
        for (actor, event, origin) in entries {
            let mut record = self.record(actor, event, &origin);
            insert(&mut tx, &mut record).await?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::AuditUnavailable(e.to_string()))?;
        Ok(n)
    }
}

async fn group_commit(pool: SqlitePool, mut queue: mpsc::Receiver<Pending>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let result = write_batch(&pool, &mut batch).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, records = batch.len(), "audit group commit failed");
        }
        for pending in batch {
            let answer = match &result {
                Ok(()) => Ok(pending.record),
                Err(e) => Err(e.clone()),
            };
            let _ = pending.reply.send(answer);
        }
    }
}

async fn write_batch(pool: &SqlitePool, batch: &mut [Pending]) -> Result<(), String> {
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|e| e.to_string())?;
    for pending in batch.iter_mut() {
        insert(&mut tx, &mut pending.record)
            .await
            .map_err(|e| format!("{e:?}"))?;
    }
    tx.commit().await.map_err(|e| e.to_string())
}

/// Insert within the caller's write transaction: the record takes the next
/// position in the log. Callers hold the database's write lock (an
/// IMMEDIATE transaction, or one that has already written), so positions
/// are assigned without gaps or duplicates.
pub(crate) async fn insert(
    conn: &mut SqliteConnection,
    record: &mut AuditRecord,
) -> Result<(), StoreError> {
    let unavailable = |e: sqlx::Error| StoreError::AuditUnavailable(e.to_string());
    let next: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM audit_records")
        .fetch_one(&mut *conn)
        .await
        .map_err(unavailable)?
        .try_get("next")
        .map_err(unavailable)?;
    record.seq = next as u64;
    record.claim = claim(conn, record).await.map_err(unavailable)?;
    let canonical = record.canonical_bytes();
    let leaf = leaf_hash(&canonical);
    let e = &record.event;
    sqlx::query(
        "INSERT INTO audit_records (seq, id, at, actor_kind, actor_id, actor_tenant_id, action, \
         resource_kind, resource_id, patient_id, tenant_id, outcome, detail, request_id, route, \
         client_addr, user_agent, build, claim, canonical, leaf_hash) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(next)
    .bind(record.id.to_string())
    .bind(record.at)
    .bind(&record.actor.kind)
    .bind(&record.actor.id)
    .bind(record.actor.tenant_id.map(|t| t.to_string()))
    .bind(e.action.as_str())
    .bind(e.resource_kind.as_str())
    .bind(&e.resource_id)
    .bind(e.patient_id.map(|p| p.to_string()))
    .bind(e.tenant_id.map(|t| t.to_string()))
    .bind(e.outcome.as_str())
    .bind(&e.detail)
    .bind(&record.origin.request_id)
    .bind(&record.origin.route)
    .bind(&record.origin.client_addr)
    .bind(&record.origin.user_agent)
    .bind(&record.build)
    .bind(&record.claim)
    .bind(canonical)
    .bind(leaf.as_slice())
    .execute(conn)
    .await
    .map_err(unavailable)?;
    Ok(())
}

/// Whether the actor had a claim to the patient's data when acting: the
/// patient's own account, or staff / lab system of the patient's facility.
/// Recorded (and hashed) with the record, so that "who had no business
/// here" is an index lookup, not a scan, and cannot be edited unseen.
async fn claim(conn: &mut SqliteConnection, record: &AuditRecord) -> Result<String, sqlx::Error> {
    let (Some(patient), Some(tenant)) = (record.event.patient_id, record.event.tenant_id) else {
        return Ok("n/a".into());
    };
    let actor = &record.actor;
    let claim = match actor.kind.as_str() {
        "system" | "operator_cli" => "system",
        "tenant_admin" | "clinician" | "assistant" | "lab_system"
            if actor.tenant_id == Some(tenant) =>
        {
            "tenant"
        }
        "patient" => {
            let linked = sqlx::query(
                "SELECT 1 FROM account_patients WHERE account_id = ? AND tenant_id = ? AND patient_id = ?",
            )
            .bind(&actor.id)
            .bind(tenant.to_string())
            .bind(patient.to_string())
            .fetch_optional(&mut *conn)
            .await?;
            if linked.is_some() { "own" } else { "none" }
        }
        _ => "none",
    };
    Ok(claim.into())
}
