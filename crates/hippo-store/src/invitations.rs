//! A new staff member accepts their invitation (issue 12): the token from
//! the mail, presented without a session, sets the first password. The
//! token is used once: one conditional UPDATE claims it, so of any number
//! of concurrent acceptances exactly one sets a password.

use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::time_util::now_millis;
use hippo_core::{StaffId, TenantId};
use sqlx::AnyPool;

use crate::audit::{AuditLog, insert};
use crate::error::StoreError;
use crate::rows::parse;

#[derive(Clone)]
pub struct UnscopedInvitations {
    pool: AnyPool,
    audit: AuditLog,
}

/// Whose invitation was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptedInvitation {
    pub staff_id: StaffId,
    pub tenant_id: TenantId,
}

impl UnscopedInvitations {
    pub(crate) fn new(pool: AnyPool, audit: AuditLog) -> Self {
        Self { pool, audit }
    }

    /// Whether `token_hash` names an invitation that can still be
    /// accepted (for the form; acceptance checks again atomically).
    pub async fn is_open(&self, token_hash: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT i.staff_id FROM staff_invitations i JOIN staff_users s ON s.id = i.staff_id \
             WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.expires_at > $2 \
             AND s.deactivated_at IS NULL",
        )
        .bind(token_hash)
        .bind(now_millis())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Record an acceptance refused because the invitation is not open
    /// (unknown, used, expired, member deactivated: one reason for all).
    pub async fn record_refusal(&self, origin: &RequestOrigin) -> Result<(), StoreError> {
        let event = AuditEvent::new(
            Action::InvitationAccept,
            ResourceKind::StaffMember,
            Outcome::NotFound,
        )
        .detail("invitation_not_open");
        self.audit
            .append(AuditActor::anonymous(), event, origin)
            .await?;
        Ok(())
    }

    /// Claim the invitation `token_hash` and set its member's password to
    /// `password_hash`, audited in the same transaction. `None` (audited
    /// as not found) when the token is unknown, used, expired, or its
    /// member deactivated: all alike to the caller.
    pub async fn accept(
        &self,
        token_hash: &str,
        password_hash: &str,
        origin: &RequestOrigin,
    ) -> Result<Option<AcceptedInvitation>, StoreError> {
        let now = now_millis();
        let mut tx = crate::sql::begin_write(&self.pool).await?;
        let claimed = sqlx::query(
            "UPDATE staff_invitations SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL \
             AND expires_at > $1 AND staff_id IN \
             (SELECT id FROM staff_users WHERE deactivated_at IS NULL)",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed != 1 {
            drop(tx);
            self.record_refusal(origin).await?;
            return Ok(None);
        }
        let row =
            sqlx::query("SELECT staff_id, tenant_id FROM staff_invitations WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_one(&mut *tx)
                .await?;
        let accepted = AcceptedInvitation {
            staff_id: parse(&row, "staff_id")?,
            tenant_id: parse(&row, "tenant_id")?,
        };
        sqlx::query("UPDATE staff_users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(accepted.staff_id.to_string())
            .execute(&mut *tx)
            .await?;
        let event = AuditEvent::new(
            Action::InvitationAccept,
            ResourceKind::StaffMember,
            Outcome::Success,
        )
        .resource(accepted.staff_id)
        .concerning(accepted.tenant_id, None)
        .detail("password_set");
        let mut record = self.audit.record(AuditActor::anonymous(), event, origin);
        insert(&mut tx, &mut record).await?;
        tx.commit().await?;
        Ok(Some(accepted))
    }
}
