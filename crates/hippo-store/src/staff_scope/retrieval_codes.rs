//! Staff (clinicians, assistants): retrieval codes for the own tenant's
//! released findings — issue, list, revoke. The code itself is never
//! stored: the caller passes its hash, and the code leaves once, in the
//! answer to the issue request.

use hippo_core::audit::{AuditEvent, Outcome};
use hippo_core::finding::FindingStatus;
use hippo_core::policy::{Action, ResourceKind, ResourceRef};
use hippo_core::time_util::{UnixMillis, now_millis};
use hippo_core::{DomainError, FindingId, RetrievalCodeId};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::StaffScope;
use super::findings::FINDING_BY_ID;
use crate::admission::{Access, Admitted, Bound, Statement};
use crate::error::StoreError;
use crate::model::RetrievalCodeRecord;
use crate::rows::parse;

pub(crate) fn retrieval_code(row: &AnyRow) -> Result<RetrievalCodeRecord, StoreError> {
    Ok(RetrievalCodeRecord {
        id: parse(row, "id")?,
        tenant_id: parse(row, "tenant_id")?,
        finding_id: parse(row, "finding_id")?,
        patient_id: parse(row, "patient_id")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        max_attempts: row.try_get("max_attempts")?,
        failed_attempts: row.try_get("failed_attempts")?,
        last_used_at: row.try_get("last_used_at")?,
        facility: row.try_get("facility")?,
    })
}

fn retrieval_code_ref(c: &RetrievalCodeRecord) -> ResourceRef {
    ResourceRef::RetrievalCode {
        tenant: c.tenant_id,
        code: c.id,
    }
}

/// `GET /api/v1/findings/{id}/retrieval-codes`: never the code's hash.
const CODES_OF_FINDING: Statement<RetrievalCodeRecord> = Statement {
    sql: "SELECT c.id, c.tenant_id, c.finding_id, f.patient_id, c.created_at, c.expires_at, \
          c.revoked_at, c.max_attempts, c.failed_attempts, c.last_used_at, t.name AS facility \
          FROM retrieval_codes c JOIN findings f ON f.id = c.finding_id AND f.tenant_id = c.tenant_id \
          JOIN tenants t ON t.id = c.tenant_id \
          WHERE (c.tenant_id = $1) /* fence */ AND c.finding_id = $2 \
          ORDER BY c.created_at DESC, c.id",
    map: retrieval_code,
    resource: retrieval_code_ref,
    kind: ResourceKind::RetrievalCode,
};

const CODE_BY_ID: Statement<RetrievalCodeRecord> = Statement {
    sql: "SELECT c.id, c.tenant_id, c.finding_id, f.patient_id, c.created_at, c.expires_at, \
          c.revoked_at, c.max_attempts, c.failed_attempts, c.last_used_at, t.name AS facility \
          FROM retrieval_codes c JOIN findings f ON f.id = c.finding_id AND f.tenant_id = c.tenant_id \
          JOIN tenants t ON t.id = c.tenant_id \
          WHERE (c.tenant_id = $1) /* fence */ AND c.id = $2",
    map: retrieval_code,
    resource: retrieval_code_ref,
    kind: ResourceKind::RetrievalCode,
};

/// What a new code is: its hash, how long it is valid, how many wrong
/// dates of birth it takes.
#[derive(Debug, Clone)]
pub struct NewRetrievalCode {
    pub code_hash: String,
    pub expires_at: UnixMillis,
    pub max_attempts: u32,
}

impl StaffScope {
    fn bind_tenant_and(&self, id: impl ToString) -> impl FnOnce(Bound<'static>) -> Bound<'static> {
        let (tenant, id) = (self.tenant.to_string(), id.to_string());
        move |q| q.bind(tenant).bind(id)
    }

    /// Issue a code for one finding of the tenant. Only a released finding
    /// gets one (a draft or retracted finding: 409, recorded as rejected).
    pub async fn issue_retrieval_code(
        &self,
        finding: FindingId,
        new: &NewRetrievalCode,
    ) -> Result<Admitted<RetrievalCodeRecord>, StoreError> {
        let action = self.gk.serving(&[Action::RetrievalCodeIssue])?;
        let found = self
            .gk
            .fetch_one(
                &FINDING_BY_ID,
                self.bind_tenant_and(finding),
                action,
                finding,
            )
            .await?;
        let f = found.get();
        if f.status != FindingStatus::Released {
            let refused = AuditEvent::new(action, ResourceKind::Finding, Outcome::Rejected)
                .resource(finding)
                .concerning(f.tenant_id, Some(f.patient_id));
            let error = DomainError::InvalidTransition {
                from: f.status.as_str(),
                attempted: "given a retrieval code",
            };
            return Err(self.gk.actor.rejected(refused, error.into()).await);
        }
        let id = RetrievalCodeId::random();
        let mut tx = self.gk.connections.begin(false).await?;
        sqlx::query(
            "INSERT INTO retrieval_codes (id, tenant_id, finding_id, code_hash, created_by, \
             created_at, expires_at, max_attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(self.tenant.to_string())
        .bind(finding.to_string())
        .bind(&new.code_hash)
        .bind(&self.actor_id)
        .bind(now_millis())
        .bind(new.expires_at)
        .bind(i64::from(new.max_attempts))
        .execute(&mut *tx)
        .await?;
        let written = self
            .gk
            .reload_in(&mut tx, &CODE_BY_ID, self.bind_tenant_and(id))
            .await?;
        let access = Access::of(id)
            .concerning(f.tenant_id, Some(f.patient_id))
            .detail(format!("finding={finding}"));
        self.gk
            .commit(tx, written, ResourceKind::RetrievalCode, access)
            .await
    }

    /// The codes of one finding, newest first. Also serves the staff
    /// finding page (declared `finding_read`), which shows them.
    pub async fn retrieval_codes(
        &self,
        finding: FindingId,
    ) -> Result<Admitted<Vec<RetrievalCodeRecord>>, StoreError> {
        self.gk
            .serving(&[Action::RetrievalCodeList, Action::FindingRead])?;
        let found = self
            .gk
            .fetch_one(
                &FINDING_BY_ID,
                self.bind_tenant_and(finding),
                Action::RetrievalCodeList,
                finding,
            )
            .await?;
        let (tenant, patient) = (found.get().tenant_id, found.get().patient_id);
        let codes = self
            .gk
            .fetch_all(
                &CODES_OF_FINDING,
                self.bind_tenant_and(finding),
                Action::RetrievalCodeRevoke,
            )
            .await?;
        let access = Access::of(finding)
            .concerning(tenant, Some(patient))
            .detail(format!("retrieval_codes listed={}", codes.get().len()));
        self.gk
            .admit(codes, ResourceKind::RetrievalCode, vec![access])
            .await
    }

    /// Revoke a code: it opens nothing from now on, nor do PDF links
    /// already handed out with it. Revoking twice keeps the first time.
    pub async fn revoke_retrieval_code(
        &self,
        id: RetrievalCodeId,
    ) -> Result<Admitted<RetrievalCodeRecord>, StoreError> {
        let action = self.gk.serving(&[Action::RetrievalCodeRevoke])?;
        self.gk
            .fetch_one(&CODE_BY_ID, self.bind_tenant_and(id), action, id)
            .await?;
        let mut tx = self.gk.connections.begin(false).await?;
        sqlx::query(
            "UPDATE retrieval_codes SET revoked_at = COALESCE(revoked_at, $1) \
             WHERE tenant_id = $2 AND id = $3",
        )
        .bind(now_millis())
        .bind(self.tenant.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        let revoked = self
            .gk
            .reload_in(&mut tx, &CODE_BY_ID, self.bind_tenant_and(id))
            .await?;
        let r = revoked.get();
        let access = Access::of(id)
            .concerning(r.tenant_id, Some(r.patient_id))
            .detail(format!("finding={}", r.finding_id));
        self.gk
            .commit(tx, revoked, ResourceKind::RetrievalCode, access)
            .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_statement_is_fenced_by_tenant() {
        for sql in [super::CODES_OF_FINDING.sql, super::CODE_BY_ID.sql] {
            assert!(sql.contains("(c.tenant_id = $1) /* fence */"), "{sql}");
            assert!(!sql.contains("code_hash"), "{sql}");
        }
    }
}
