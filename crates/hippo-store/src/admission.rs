//! The one way data leaves a scope: fetched by a scoped statement, put to
//! the policy gate row by row, and recorded in the audit log under the
//! action the route declared. [`Admitted`] is the only type a scope hands
//! out, and only [`Gatekeeper`] can make one.

use std::ops::Deref;
use std::sync::Arc;

use hippo_core::audit::{AuditEvent, Outcome};
use hippo_core::policy::{AccessGate, Action, ResourceKind, ResourceRef};
use hippo_core::{PatientId, TenantId};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Transaction};

use crate::actor::Actor;
use crate::error::StoreError;
use crate::scoping::Scoping;
use crate::sql::TenantPool;

/// An object that came through a scope: the policy admitted it and its
/// access is durably recorded. Handlers read it through `Deref`; nothing
/// outside this crate can build one, and no scope returns anything else.
///
/// ```compile_fail
/// // Outside the store an admitted object cannot be made up…
/// fn forge<T>(object: T) -> hippo_store::Admitted<T> {
///     hippo_store::Admitted(object)
/// }
/// ```
///
/// ```compile_fail
/// // …and a scope never hands out an unadmitted one.
/// async fn bare(
///     scope: &hippo_store::PatientScope,
///     id: hippo_core::FindingId,
/// ) -> hippo_store::FindingDetail {
///     scope.finding(id).await.unwrap()
/// }
/// ```
///
/// ```no_run
/// // What compiles: reading what the scope admitted.
/// async fn read(
///     scope: &hippo_store::PatientScope,
///     id: hippo_core::FindingId,
/// ) -> usize {
///     let detail: hippo_store::Admitted<hippo_store::FindingDetail> =
///         scope.finding(id).await.unwrap();
///     detail.observations.len()
/// }
/// ```
#[derive(Debug)]
pub struct Admitted<T>(T);

impl<T> Deref for Admitted<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl Admitted<crate::model::FindingPdf> {
    /// The report's bytes, to send (no copy of a 10 MB body).
    pub fn into_bytes(self) -> Vec<u8> {
        self.0.bytes
    }
}

impl Admitted<crate::messaging::AttachmentFile> {
    /// The attachment's name and kind, and its bytes, to send.
    pub fn into_parts(self) -> (crate::messaging::AttachmentMeta, Vec<u8>) {
        (self.0.meta, self.0.bytes)
    }
}

/// Admitted reports (forensics, alerts) go out as JSON as they are.
impl<T: serde::Serialize> serde::Serialize for Admitted<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Let the gate through, access not yet recorded. Private to the store:
/// the only way on is [`Gatekeeper::admit`] or [`Gatekeeper::commit`].
pub(crate) struct Gated<T>(T);

impl<T> Gated<T> {
    pub(crate) fn get(&self) -> &T {
        &self.0
    }

    /// Complete an admitted object (its observations, its PDF): the gate
    /// decided on what was fetched, the record is written for the whole.
    pub(crate) fn with<U>(self, complete: impl FnOnce(T) -> U) -> Gated<U> {
        Gated(complete(self.0))
    }

    /// Two objects the gate let through, answered together.
    pub(crate) fn zip<U>(self, other: Gated<U>) -> Gated<(T, U)> {
        Gated((self.0, other.0))
    }
}

/// A scoped statement and how its rows become objects that the gate can
/// judge. `sql` is written out whole; the fence predicates (tenant,
/// account) are marked `/* fence */` so the test-only bypass can find them.
pub(crate) struct Statement<T> {
    pub(crate) sql: &'static str,
    pub(crate) map: fn(&AnyRow) -> Result<T, StoreError>,
    /// What the gate is asked about for each row.
    pub(crate) resource: fn(&T) -> ResourceRef,
    pub(crate) kind: ResourceKind,
}

/// What one success record says beyond the declared action and the kind.
#[derive(Default)]
pub(crate) struct Access {
    pub(crate) resource: Option<String>,
    pub(crate) concerning: Option<(TenantId, Option<PatientId>)>,
    pub(crate) detail: Option<String>,
}

impl Access {
    pub(crate) fn of(resource: impl ToString) -> Self {
        Self {
            resource: Some(resource.to_string()),
            ..Self::default()
        }
    }

    pub(crate) fn concerning(mut self, tenant: TenantId, patient: Option<PatientId>) -> Self {
        self.concerning = Some((tenant, patient));
        self
    }

    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// Where a scope's connections come from: staff connections see their
/// tenant only (row-level security on PostgreSQL), others the main pool.
#[derive(Clone)]
pub(crate) enum Connections {
    Main(AnyPool),
    Tenant(TenantPool, TenantId),
}

impl Connections {
    pub(crate) async fn acquire(&self) -> Result<PoolConnection<Any>, StoreError> {
        Ok(match self {
            Self::Main(pool) => pool.acquire().await?,
            Self::Tenant(pool, tenant) => pool.acquire_for(&tenant.to_string()).await?,
        })
    }

    /// A write transaction (SQLite's write lock taken at once when `lock`).
    pub(crate) async fn begin(&self, lock: bool) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(match self {
            Self::Main(pool) if lock => crate::sql::begin_write(pool).await?,
            Self::Main(pool) => pool.begin().await?,
            Self::Tenant(pool, tenant) => pool.begin_for(&tenant.to_string(), lock).await?,
        })
    }
}

/// What a scope is made of, besides its connections: the caller (for the
/// audit log), the caller's policy gate, the action the route declared
/// and the fence.
pub(crate) struct Request {
    pub(crate) actor: Actor,
    pub(crate) gate: Arc<dyn AccessGate>,
    pub(crate) declared: Action,
    pub(crate) scoping: Scoping,
}

/// One request's scope machinery: the caller (for the audit log), the
/// caller's policy gate, the action its route declared, and the fence.
#[derive(Clone)]
pub(crate) struct Gatekeeper {
    pub(crate) actor: Actor,
    gate: Arc<dyn AccessGate>,
    declared: Action,
    scoping: Scoping,
    pub(crate) connections: Connections,
}

pub(crate) type Bound<'q> = Query<'q, Any, AnyArguments>;

impl Gatekeeper {
    pub(crate) fn new(request: Request, connections: Connections) -> Self {
        Self {
            actor: request.actor,
            gate: request.gate,
            declared: request.declared,
            scoping: request.scoping,
            connections,
        }
    }

    #[cfg(feature = "fence-bypass")]
    pub(crate) fn scoping(&self) -> Scoping {
        self.scoping
    }

    /// The route's declared action if this operation serves it. Anything
    /// else is a wiring bug (a handler calling the wrong operation), and
    /// is refused before any data is read.
    pub(crate) fn serving(&self, serves: &[Action]) -> Result<Action, StoreError> {
        if serves.contains(&self.declared) {
            Ok(self.declared)
        } else {
            Err(StoreError::Misrouted {
                declared: self.declared.as_str(),
            })
        }
    }

    /// A collection or platform action (list, create): allowed on
    /// `resource`, or recorded as denied and answered like "not found".
    pub(crate) async fn require(
        &self,
        action: Action,
        resource: &ResourceRef,
        kind: ResourceKind,
        id: impl ToString,
    ) -> Result<(), StoreError> {
        if self.gate.permits(action, resource) {
            Ok(())
        } else {
            Err(self.actor.denied(action, kind, id).await)
        }
    }

    fn query<T>(&self, statement: &Statement<T>) -> Bound<'static> {
        sqlx::query(self.scoping.statement(statement.sql))
    }

    /// One row of `statement`, mapped; the connection is back in the pool
    /// when this returns, before anyone waits for an audit record.
    async fn fetch_row<T>(
        &self,
        statement: &Statement<T>,
        bind: impl FnOnce(Bound<'static>) -> Bound<'static>,
    ) -> Result<Option<T>, StoreError> {
        let row = {
            let mut conn = self.connections.acquire().await?;
            bind(self.query(statement))
                .fetch_optional(&mut *conn)
                .await?
        };
        row.as_ref().map(statement.map).transpose()
    }

    /// The gated fetch of one object by ID: absent, outside the fence and
    /// refused by the policy all answer "not found" and are recorded (as
    /// not found or as denied). The connection goes back to the pool
    /// before any record is awaited.
    pub(crate) async fn fetch_one<T>(
        &self,
        statement: &Statement<T>,
        bind: impl FnOnce(Bound<'static>) -> Bound<'static>,
        action: Action,
        id: impl ToString,
    ) -> Result<Gated<T>, StoreError> {
        let kind = statement.kind;
        match self.fetch_row(statement, bind).await? {
            None => Err(self.actor.not_found(action, kind, id).await),
            Some(object) if !self.gate.permits(action, &(statement.resource)(&object)) => {
                Err(self.actor.denied(action, kind, id).await)
            }
            Some(object) => Ok(Gated(object)),
        }
    }

    /// The incident drill's bug, test builds only: fetched without the
    /// gate. Nothing but the drill calls it.
    #[cfg(feature = "fence-bypass")]
    pub(crate) async fn internal_drill_fetch_ungated<T>(
        &self,
        statement: &Statement<T>,
        bind: impl FnOnce(Bound<'static>) -> Bound<'static>,
        action: Action,
        id: impl ToString,
    ) -> Result<Gated<T>, StoreError> {
        match self.fetch_row(statement, bind).await? {
            None => Err(self.actor.not_found(action, statement.kind, id).await),
            Some(object) => Ok(Gated(object)),
        }
    }

    /// The gated fetch of a list: every row the fence lets through is put
    /// to the gate under `row_action`; refused rows are left out.
    pub(crate) async fn fetch_all<T>(
        &self,
        statement: &Statement<T>,
        bind: impl FnOnce(Bound<'static>) -> Bound<'static>,
        row_action: Action,
    ) -> Result<Gated<Vec<T>>, StoreError> {
        let rows = {
            let mut conn = self.connections.acquire().await?;
            bind(self.query(statement)).fetch_all(&mut *conn).await?
        };
        let mut admitted = Vec::with_capacity(rows.len());
        for row in &rows {
            let object = (statement.map)(row)?;
            if self
                .gate
                .permits(row_action, &(statement.resource)(&object))
            {
                admitted.push(object);
            }
        }
        Ok(Gated(admitted))
    }

    fn event(&self, kind: ResourceKind, access: Access) -> AuditEvent {
        let mut event = AuditEvent::new(self.declared, kind, Outcome::Success);
        if let Some(resource) = access.resource {
            event = event.resource(resource);
        }
        if let Some((tenant, patient)) = access.concerning {
            event = event.concerning(tenant, patient);
        }
        if let Some(detail) = access.detail {
            event = event.detail(detail);
        }
        event
    }

    /// Record the success under the declared action (durable before it
    /// returns), and hand the object on. A list that touched several
    /// patient records gets one record per record, in one group commit.
    pub(crate) async fn admit<T>(
        &self,
        gated: Gated<T>,
        kind: ResourceKind,
        accesses: Vec<Access>,
    ) -> Result<Admitted<T>, StoreError> {
        let events = accesses
            .into_iter()
            .map(|access| self.event(kind, access))
            .collect();
        self.actor.log_all(events).await?;
        Ok(Admitted(gated.0))
    }

    /// Record the success inside the write's transaction and commit both.
    pub(crate) async fn commit<T>(
        &self,
        mut tx: Transaction<'static, Any>,
        gated: Gated<T>,
        kind: ResourceKind,
        access: Access,
    ) -> Result<Admitted<T>, StoreError> {
        self.actor.log_in(&mut tx, self.event(kind, access)).await?;
        tx.commit().await?;
        Ok(Admitted(gated.0))
    }

    /// The records of these accesses, for a write transaction that the
    /// caller commits itself (the HL7 group commit inserts the records of
    /// all its messages with one statement, `audit::insert_all`); the
    /// object is handed out by [`Self::committed`] only once that commit
    /// succeeded.
    pub(crate) fn records_of(
        &self,
        accesses: Vec<(ResourceKind, Access)>,
    ) -> Vec<hippo_core::audit::AuditRecord> {
        accesses
            .into_iter()
            .map(|(kind, access)| self.actor.record(self.event(kind, access)))
            .collect()
    }

    /// An object whose write and [`Self::records_of`] records committed.
    pub(crate) fn committed<T>(&self, gated: Gated<T>) -> Admitted<T> {
        Admitted(gated.0)
    }

    /// An object that a collection or platform check admitted as a whole,
    /// with no row to put to the gate: a write's own new object (patient,
    /// key), a forensic report, the alert list.
    pub(crate) fn checked<T>(&self, object: T) -> Gated<T> {
        Gated(object)
    }

    /// A row this request has just written, read back inside its own
    /// transaction: the gate admitted the write before it happened.
    pub(crate) async fn reload_in<T>(
        &self,
        tx: &mut Transaction<'static, Any>,
        statement: &Statement<T>,
        bind: impl FnOnce(Bound<'static>) -> Bound<'static>,
    ) -> Result<Gated<T>, StoreError> {
        let row = bind(self.query(statement))
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a row vanished inside its own write".into()))?;
        Ok(Gated((statement.map)(&row)?))
    }
}
