//! Account-less retrieval. [`UnscopedRetrievalDesk`] turns a code's hash
//! and a date of birth into a [`CodeHolder`] (there is no principal before
//! it, like `AuthStore` for passwords); [`CodeHolderScope`] is that
//! holder's scoped handle, through which the one finding of the code and
//! its PDF leave, gated by the policy and audited like every other read.
//!
//! Attempts are counted in the database with conditional UPDATEs, so the
//! limit holds across any number of instances: a wrong date of birth
//! counts only while `failed_attempts < max_attempts`, and a right one
//! succeeds only under the same condition.

use hippo_core::FindingId;
use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::finding::FindingStatus;
use hippo_core::patient::parse_birth_date;
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::retrieval::{CodeHolder, RetrievalRefusal, birth_date_matches};
use hippo_core::time_util::UnixMillis;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use time::Date;

use crate::actor::Actor;
use crate::admission::{Admitted, Bound, Connections, Gatekeeper, Request, Statement};
use crate::audit::AuditLog;
use crate::error::StoreError;
use crate::model::{FindingDetail, FindingPdf, FindingSummary};
use crate::queries;
use crate::rows::{self, finding_pdf_ref, finding_ref, parse};
use crate::sql::TenantPool;
use crate::vault::Vault;

/// A code found by its hash, with what the checks need.
struct CodeState {
    holder: CodeHolder,
    status: FindingStatus,
    birth_date: Date,
    expires_at: UnixMillis,
    revoked: bool,
    locked: bool,
}

const CODE_BY_HASH: &str = "SELECT c.id, c.tenant_id, c.finding_id, f.patient_id, f.status, \
     p.birth_date, c.expires_at, c.revoked_at, c.max_attempts, c.failed_attempts \
     FROM retrieval_codes c \
     JOIN findings f ON f.id = c.finding_id AND f.tenant_id = c.tenant_id \
     JOIN patients p ON p.id = f.patient_id AND p.tenant_id = f.tenant_id \
     WHERE c.code_hash = $1";

const CODE_BY_ID: &str = "SELECT c.id, c.tenant_id, c.finding_id, f.patient_id, f.status, \
     p.birth_date, c.expires_at, c.revoked_at, c.max_attempts, c.failed_attempts \
     FROM retrieval_codes c \
     JOIN findings f ON f.id = c.finding_id AND f.tenant_id = c.tenant_id \
     JOIN patients p ON p.id = f.patient_id AND p.tenant_id = f.tenant_id \
     WHERE c.id = $1";

fn code_state(row: &AnyRow) -> Result<CodeState, StoreError> {
    let status: String = row.try_get("status")?;
    let birth: String = row.try_get("birth_date")?;
    let revoked_at: Option<i64> = row.try_get("revoked_at")?;
    let max: i64 = row.try_get("max_attempts")?;
    let failed: i64 = row.try_get("failed_attempts")?;
    Ok(CodeState {
        holder: CodeHolder {
            code_id: parse(row, "id")?,
            tenant_id: parse(row, "tenant_id")?,
            patient_id: parse(row, "patient_id")?,
            finding_id: parse(row, "finding_id")?,
        },
        status: FindingStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt("finding status".into()))?,
        birth_date: parse_birth_date(&birth)
            .map_err(|_| StoreError::Corrupt("birth_date".into()))?,
        expires_at: row.try_get("expires_at")?,
        revoked: revoked_at.is_some(),
        locked: failed >= max,
    })
}

impl CodeState {
    /// Why this code opens nothing now, whoever asks.
    fn refusal(&self, now: UnixMillis) -> Option<RetrievalRefusal> {
        if self.locked {
            Some(RetrievalRefusal::Locked)
        } else if self.revoked {
            Some(RetrievalRefusal::Revoked)
        } else if self.expires_at <= now {
            Some(RetrievalRefusal::Expired)
        } else if self.status != FindingStatus::Released {
            Some(RetrievalRefusal::Withdrawn)
        } else {
            None
        }
    }
}

/// Turns a retrieval code (its hash) and a date of birth into a code
/// holder, counting wrong attempts; claims one-time PDF links. Unscoped
/// because no principal exists before it; every refusal is recorded.
#[derive(Clone)]
pub struct UnscopedRetrievalDesk {
    pool: AnyPool,
    audit: AuditLog,
}

impl UnscopedRetrievalDesk {
    pub(crate) fn new(pool: AnyPool, audit: AuditLog) -> Self {
        Self { pool, audit }
    }

    async fn refuse(
        &self,
        actor: AuditActor,
        event: AuditEvent,
        origin: &RequestOrigin,
        refusal: RetrievalRefusal,
    ) -> StoreError {
        match self.audit.append(actor, event, origin).await {
            Ok(_) => StoreError::Retrieval(refusal),
            Err(e) => e,
        }
    }

    async fn refuse_holder(
        &self,
        state: &CodeState,
        outcome: Outcome,
        detail: String,
        origin: &RequestOrigin,
        refusal: RetrievalRefusal,
    ) -> StoreError {
        let h = &state.holder;
        let event = AuditEvent::new(
            Action::RetrievalRedeem,
            ResourceKind::RetrievalCode,
            outcome,
        )
        .resource(h.code_id)
        .concerning(h.tenant_id, Some(h.patient_id))
        .detail(detail);
        self.refuse(AuditActor::code_holder(h), event, origin, refusal)
            .await
    }

    async fn state_by(
        &self,
        sql: &'static str,
        key: String,
    ) -> Result<Option<CodeState>, StoreError> {
        let row = sqlx::query(sql)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(code_state).transpose()
    }

    /// The holder of the code whose hash is `code_hash`, if `birth_date`
    /// is the patient's and the code is usable. A wrong date of birth is
    /// refused exactly like an unknown code, and counted.
    pub async fn authenticate(
        &self,
        code_hash: &str,
        birth_date: Date,
        now: UnixMillis,
        origin: &RequestOrigin,
    ) -> Result<CodeHolder, StoreError> {
        let Some(state) = self.state_by(CODE_BY_HASH, code_hash.to_owned()).await? else {
            let event = AuditEvent::new(
                Action::RetrievalRedeem,
                ResourceKind::RetrievalCode,
                Outcome::NotFound,
            )
            .detail(RetrievalRefusal::NotRecognised.as_str());
            return Err(self
                .refuse(
                    AuditActor::anonymous(),
                    event,
                    origin,
                    RetrievalRefusal::NotRecognised,
                )
                .await);
        };
        if let Some(refusal) = state.refusal(now) {
            let detail = refusal.as_str().to_owned();
            return Err(self
                .refuse_holder(&state, Outcome::Denied, detail, origin, refusal)
                .await);
        }
        let code_id = state.holder.code_id.to_string();
        if !birth_date_matches(state.birth_date, birth_date) {
            let counted: Option<i64> = sqlx::query(
                "UPDATE retrieval_codes SET failed_attempts = failed_attempts + 1 \
                 WHERE id = $1 AND failed_attempts < max_attempts RETURNING failed_attempts",
            )
            .bind(&code_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.try_get("failed_attempts"))
            .transpose()?;
            let (detail, refusal) = match counted {
                Some(n) => (
                    format!("wrong_birth_date attempt={n}"),
                    RetrievalRefusal::NotRecognised,
                ),
                // Another instance took the last attempt meanwhile.
                None => ("locked".to_owned(), RetrievalRefusal::Locked),
            };
            return Err(self
                .refuse_holder(&state, Outcome::Denied, detail, origin, refusal)
                .await);
        }
        let used = sqlx::query(
            "UPDATE retrieval_codes SET last_used_at = $1 WHERE id = $2 \
             AND failed_attempts < max_attempts AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(&code_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if used == 1 {
            return Ok(state.holder);
        }
        // Locked, revoked or expired between the read and now.
        let current = self.state_by(CODE_BY_ID, code_id).await?;
        let refusal = current
            .as_ref()
            .and_then(|s| s.refusal(now))
            .unwrap_or(RetrievalRefusal::Locked);
        Err(self
            .refuse_holder(
                &state,
                Outcome::Denied,
                refusal.as_str().into(),
                origin,
                refusal,
            )
            .await)
    }

    /// Use a one-time PDF link: valid once, until it expires, and only
    /// while its code is neither revoked nor expired. Anything else is
    /// "not found", recorded.
    /// The tenant whose finding a one-time link opens, without using the
    /// link: a service switched off for that tenant must refuse before
    /// the link is spent (nothing half-done).
    pub async fn pdf_link_tenant(
        &self,
        token_hash: &str,
    ) -> Result<Option<hippo_core::TenantId>, StoreError> {
        let tenant: Option<String> = sqlx::query(
            "SELECT c.tenant_id FROM retrieval_pdf_tokens p \
             JOIN retrieval_codes c ON c.id = p.code_id WHERE p.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| row.try_get("tenant_id"))
        .transpose()?;
        tenant
            .map(|t| {
                t.parse()
                    .map_err(|_| StoreError::Corrupt("tenant id".into()))
            })
            .transpose()
    }

    pub async fn claim_pdf_link(
        &self,
        token_hash: &str,
        now: UnixMillis,
        origin: &RequestOrigin,
    ) -> Result<CodeHolder, StoreError> {
        let claimed: Option<String> = sqlx::query(
            "UPDATE retrieval_pdf_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             AND code_id IN (SELECT c.id FROM retrieval_codes c \
             WHERE c.revoked_at IS NULL AND c.expires_at > $1) RETURNING code_id",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| row.try_get("code_id"))
        .transpose()?;
        let state = match claimed {
            Some(code_id) => self.state_by(CODE_BY_ID, code_id).await?,
            None => None,
        };
        match state {
            Some(state) => Ok(state.holder),
            None => {
                let event = AuditEvent::new(
                    Action::RetrievalPdfDownload,
                    ResourceKind::FindingPdf,
                    Outcome::NotFound,
                )
                .detail("pdf_link_unknown_used_or_expired");
                match self
                    .audit
                    .append(AuditActor::anonymous(), event, origin)
                    .await
                {
                    Ok(_) => Err(StoreError::NotFound),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

/// The code's finding, fenced by the code's tenant and finding.
const FINDING_OF_CODE_SQL: &str = "SELECT f.id, f.tenant_id, t.name AS tenant_name, f.patient_id, \
     f.title, f.status, f.created_at, f.released_at, f.retracted_at, f.pdf_size, \
     (SELECT COUNT(*) FROM observations o WHERE o.finding_id = f.id AND o.flag <> 'N') AS abnormal_count \
     FROM findings f JOIN tenants t ON t.id = f.tenant_id \
     WHERE (f.tenant_id = $1 AND f.id = $2) /* fence */";

const FINDING_OF_CODE: Statement<FindingSummary> = Statement {
    sql: FINDING_OF_CODE_SQL,
    map: rows::finding_summary,
    resource: finding_ref,
    kind: ResourceKind::Finding,
};

const PDF_OF_CODE: Statement<FindingSummary> = Statement {
    sql: FINDING_OF_CODE_SQL,
    map: rows::finding_summary,
    resource: finding_pdf_ref,
    kind: ResourceKind::FindingPdf,
};

/// A one-time PDF link to hand out with a retrieved finding.
#[derive(Debug, Clone)]
pub struct NewPdfLink {
    pub token_hash: String,
    pub expires_at: UnixMillis,
}

/// What a code holder can reach: the one finding of the code and its PDF.
/// Connections see the code's tenant only (row-level security on
/// PostgreSQL), statements are fenced by tenant and finding, and the
/// policy gate decides on every row.
#[derive(Clone)]
pub struct CodeHolderScope {
    gk: Gatekeeper,
    vault: Vault,
    holder: CodeHolder,
}

impl CodeHolderScope {
    pub(crate) fn new(
        pool: TenantPool,
        vault: Vault,
        holder: &CodeHolder,
        request: Request,
    ) -> Self {
        Self {
            gk: Gatekeeper::new(request, Connections::Tenant(pool, holder.tenant_id)),
            vault,
            holder: *holder,
        }
    }

    pub(crate) fn actor(holder: &CodeHolder, audit: AuditLog, origin: RequestOrigin) -> Actor {
        Actor {
            audit,
            actor: AuditActor::code_holder(holder),
            origin,
        }
    }

    fn bind_code(&self) -> impl FnOnce(Bound<'static>) -> Bound<'static> {
        let (tenant, finding) = (
            self.holder.tenant_id.to_string(),
            self.holder.finding_id.to_string(),
        );
        move |q| q.bind(tenant).bind(finding)
    }

    pub fn finding_id(&self) -> FindingId {
        self.holder.finding_id
    }

    /// The code's finding with its values, and a one-time PDF link made
    /// for it, recorded as retrieved.
    pub async fn retrieve(&self, link: &NewPdfLink) -> Result<Admitted<FindingDetail>, StoreError> {
        let action = self.gk.serving(&[Action::RetrievalRedeem])?;
        let id = self.holder.finding_id;
        let summary = self
            .gk
            .fetch_one(&FINDING_OF_CODE, self.bind_code(), action, id)
            .await?;
        {
            let mut conn = self.gk.connections.acquire().await?;
            sqlx::query(
                "INSERT INTO retrieval_pdf_tokens (token_hash, code_id, tenant_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&link.token_hash)
            .bind(self.holder.code_id.to_string())
            .bind(self.holder.tenant_id.to_string())
            .bind(hippo_core::time_util::now_millis())
            .bind(link.expires_at)
            .execute(&mut *conn)
            .await?;
        }
        queries::admit_detail(&self.gk, summary).await
    }

    /// The code's finding's PDF, recorded as downloaded.
    pub async fn pdf(&self) -> Result<Admitted<FindingPdf>, StoreError> {
        let action = self.gk.serving(&[Action::RetrievalPdfDownload])?;
        let id = self.holder.finding_id;
        let summary = self
            .gk
            .fetch_one(&PDF_OF_CODE, self.bind_code(), action, id)
            .await?;
        queries::admit_pdf(&self.gk, &self.vault, summary).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_finding_statement_is_fenced_by_the_codes_tenant_and_finding() {
        assert!(
            super::FINDING_OF_CODE_SQL.contains("(f.tenant_id = $1 AND f.id = $2) /* fence */")
        );
    }
}
