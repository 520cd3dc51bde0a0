//! The acting principal inside a scoped handle: who, from where, and the
//! audit log every access is written to.

use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use sqlx::AnyConnection;

use crate::audit::{AuditLog, insert};
use crate::error::StoreError;

#[derive(Clone)]
pub(crate) struct Actor {
    pub(crate) audit: AuditLog,
    pub(crate) actor: AuditActor,
    pub(crate) origin: RequestOrigin,
}

impl Actor {
    /// Append in its own transaction (reads: durable before the answer).
    pub(crate) async fn log(&self, event: AuditEvent) -> Result<(), StoreError> {
        self.audit
            .append(self.actor.clone(), event, &self.origin)
            .await
            .map(|_| ())
    }

    /// Append several records at once (one request touching several
    /// patient records); durable together, usually in one group commit.
    pub(crate) async fn log_all(&self, events: Vec<AuditEvent>) -> Result<(), StoreError> {
        self.audit
            .append_all(&self.actor, events, &self.origin)
            .await
    }

    /// The record of `event` by this actor, not yet in the log.
    pub(crate) fn record(&self, event: AuditEvent) -> hippo_core::audit::AuditRecord {
        self.audit.record(self.actor.clone(), event, &self.origin)
    }

    /// Append inside the caller's write transaction.
    pub(crate) async fn log_in(
        &self,
        conn: &mut AnyConnection,
        event: AuditEvent,
    ) -> Result<(), StoreError> {
        let mut record = self.record(event);
        insert(conn, &mut record).await
    }

    /// Record a lookup that found nothing in scope and return the error the
    /// caller should see. Absent and foreign objects take this same path.
    pub(crate) async fn not_found(
        &self,
        action: Action,
        kind: ResourceKind,
        id: impl ToString,
    ) -> StoreError {
        let event = AuditEvent::new(action, kind, Outcome::NotFound).resource(id);
        match self.log(event).await {
            Ok(()) => StoreError::NotFound,
            Err(e) => e,
        }
    }

    /// Record an object the policy refused, and answer exactly like
    /// `not_found`: the caller must not learn that it exists.
    pub(crate) async fn denied(
        &self,
        action: Action,
        kind: ResourceKind,
        id: impl ToString,
    ) -> StoreError {
        let event = AuditEvent::new(action, kind, Outcome::Denied)
            .resource(id)
            .detail("policy");
        match self.log(event).await {
            Ok(()) => StoreError::NotFound,
            Err(e) => e,
        }
    }

    /// Record a refused write (bad transition) after its transaction was
    /// rolled back, and pass the original error on.
    pub(crate) async fn rejected(&self, event: AuditEvent, error: StoreError) -> StoreError {
        let code = match &error {
            StoreError::Domain(d) => d.code(),
            _ => "error",
        };
        match self.log(event.detail(code)).await {
            Ok(()) => error,
            Err(e) => e,
        }
    }
}
