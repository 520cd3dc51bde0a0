//! Appending audit records. Append is the only operation; the schema's
//! triggers refuse UPDATE and DELETE.

use hippo_core::AuditRecordId;
use hippo_core::audit::{AuditActor, AuditEvent, AuditRecord, RequestOrigin};
use hippo_core::time_util::now_millis;
use sqlx::{SqliteConnection, SqlitePool};

use crate::error::StoreError;

#[derive(Clone)]
pub struct AuditLog {
    pool: SqlitePool,
    build: String,
}

impl AuditLog {
    pub(crate) fn new(pool: SqlitePool, build: String) -> Self {
        Self { pool, build }
    }

    pub(crate) fn record(
        &self,
        actor: AuditActor,
        event: AuditEvent,
        origin: &RequestOrigin,
    ) -> AuditRecord {
        AuditRecord {
            id: AuditRecordId::random(),
            at: now_millis(),
            actor,
            event,
            origin: origin.clone(),
            build: self.build.clone(),
        }
    }

    /// Append one record in its own transaction; returns once durable.
    pub async fn append(
        &self,
        actor: AuditActor,
        event: AuditEvent,
        origin: &RequestOrigin,
    ) -> Result<AuditRecord, StoreError> {
        let record = self.record(actor, event, origin);
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(StoreError::AuditUnavailable)?;
        insert(&mut conn, &record).await?;
        Ok(record)
    }
}

/// Insert within the caller's transaction, so a write and its audit record
/// commit together or not at all.
pub(crate) async fn insert(
    conn: &mut SqliteConnection,
    record: &AuditRecord,
) -> Result<(), StoreError> {
    let e = &record.event;
    sqlx::query(
        "INSERT INTO audit_records (id, at, actor_kind, actor_id, actor_tenant_id, action, \
         resource_kind, resource_id, patient_id, tenant_id, outcome, detail, request_id, \
         client_addr, user_agent, build, canonical) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
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
    .bind(&record.origin.client_addr)
    .bind(&record.origin.user_agent)
    .bind(&record.build)
    .bind(record.canonical_bytes())
    .execute(conn)
    .await
    .map_err(StoreError::AuditUnavailable)?;
    Ok(())
}
