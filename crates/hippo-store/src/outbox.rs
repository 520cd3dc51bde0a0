//! The notification outbox (issue 11): patients are told by e-mail that
//! something is waiting for them, without a word of what.
//!
//! An event that deserves a notification (a finding's release, a new
//! message) calls [`enqueue_in`] inside its own transaction, so the row
//! commits or rolls back with the event. A sender (the server's background
//! task) claims due rows with [`UnscopedOutbox::claim`], sends them and
//! marks them with [`UnscopedOutbox::mark_sent`] or
//! [`UnscopedOutbox::mark_attempt_failed`].
//!
//! Delivery is at least once, with one key per notification: SMTP has no
//! exactly-once, since a server may accept a mail and the connection drop
//! before we hear so. A row whose sender vanished mid-send (crash, lease
//! run out) goes to `unknown` and is sent again with the same key as its
//! `Message-ID`, by which a receiving system can drop the duplicate. No
//! notification is lost: a row leaves the outbox's active states only as
//! `sent` or, after the last attempt, `failed`, which operators see
//! (`hippo outbox status`, and the sender's log).
//!
//! The table holds no health data: recipient address, kind, tenant and
//! patient IDs, delivery bookkeeping.

use hippo_core::time_util::now_millis;
use hippo_core::{PatientId, TenantId};
use sqlx::{Any, AnyPool, Row, Transaction};
use uuid::Uuid;

use crate::error::StoreError;
use crate::sql::Backend;

/// What happened, as far as a notification may say: nothing but the kind,
/// which selects no text either (both read "something new, log in").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    FindingReleased,
    NewMessage,
    /// A new staff member's invitation to set a password (issue 12): it
    /// concerns no patient and carries the link's token until it is sent.
    StaffInvitation,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FindingReleased => "finding_released",
            Self::NewMessage => "new_message",
            Self::StaffInvitation => "staff_invitation",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "finding_released" => Some(Self::FindingReleased),
            "new_message" => Some(Self::NewMessage),
            "staff_invitation" => Some(Self::StaffInvitation),
            _ => None,
        }
    }
}

/// An event to tell a patient about. The recipient is the e-mail address
/// of the account linked to that patient record; a record without an
/// account gets no notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    pub tenant: TenantId,
    pub patient: PatientId,
    pub kind: NoticeKind,
}

/// Write the notification for `notice` in the event's own transaction
/// (nothing if the patient record has no account). Commits and rolls back
/// with the event.
pub(crate) async fn enqueue_in(
    tx: &mut Transaction<'static, Any>,
    notice: &Notice,
) -> Result<(), StoreError> {
    let now = now_millis();
    // One statement: the address is read and the row written together,
    // and a record without an account yields no row.
    sqlx::query(
        "INSERT INTO notification_outbox (id, tenant_id, patient_id, recipient, kind, state, \
         attempts, next_attempt_at, created_at) \
         SELECT $1, ap.tenant_id, ap.patient_id, a.email, $2, 'pending', 0, $3, $3 \
         FROM account_patients ap JOIN accounts a ON a.id = ap.account_id \
         WHERE ap.tenant_id = $4 AND ap.patient_id = $5",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(notice.kind.as_str())
    .bind(now)
    .bind(notice.tenant.to_string())
    .bind(notice.patient.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Write a staff member's invitation mail in the transaction that creates
/// the member: `link_token` is the token its link carries (the database
/// keeps only its hash elsewhere; here it lives until the mail is sent).
pub(crate) async fn enqueue_invitation_in(
    tx: &mut Transaction<'static, Any>,
    tenant: TenantId,
    recipient: &str,
    link_token: &str,
) -> Result<(), StoreError> {
    let now = now_millis();
    sqlx::query(
        "INSERT INTO notification_outbox (id, tenant_id, patient_id, recipient, kind, state, \
         attempts, next_attempt_at, created_at, link_token) \
         VALUES ($1, $2, NULL, $3, $4, 'pending', 0, $5, $5, $6)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(tenant.to_string())
    .bind(recipient)
    .bind(NoticeKind::StaffInvitation.as_str())
    .bind(now)
    .bind(link_token)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A notification claimed by one sender until its lease runs out.
#[derive(Debug, Clone)]
pub struct ClaimedNotice {
    /// The idempotency key: the same on every attempt, sent as Message-ID.
    pub key: Uuid,
    pub tenant_id: TenantId,
    /// `None` for mails that concern no patient (staff invitations).
    pub patient_id: Option<PatientId>,
    pub recipient: String,
    pub kind: NoticeKind,
    /// The one-time token a staff invitation's link carries; cleared from
    /// the row once the mail is sent.
    pub link_token: Option<String>,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// The facility's name, only if the tenant chose to show it.
    pub facility_name: Option<String>,
    claim_token: String,
}

/// How many notifications are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    pub sending: u64,
    pub unknown: u64,
    pub sent: u64,
    pub failed: u64,
}

/// The sender's and the operator's handle on the outbox. Unscoped: it
/// serves every tenant's notifications, and reads no health data (there
/// is none in the table).
#[derive(Clone)]
pub struct UnscopedOutbox {
    pool: AnyPool,
}

impl UnscopedOutbox {
    pub(crate) fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Rows whose sender's lease ran out (it crashed, hung, or lost the
    /// database) become `unknown` and due at once, or `failed` if that was
    /// their last attempt. Returns how many became unknown and failed.
    pub async fn expire_leases(&self, max_attempts: u32) -> Result<(u64, u64), StoreError> {
        let now = now_millis();
        let failed = sqlx::query(
            "UPDATE notification_outbox SET state = 'failed', claim_token = NULL, lease_until = NULL, \
             link_token = NULL, last_error = 'outcome of the last attempt unknown (lease expired)' \
             WHERE state = 'sending' AND lease_until < $1 AND attempts >= $2",
        )
        .bind(now)
        .bind(i64::from(max_attempts))
        .execute(&self.pool)
        .await?
        .rows_affected();
        let unknown = sqlx::query(
            "UPDATE notification_outbox SET state = 'unknown', claim_token = NULL, lease_until = NULL, \
             next_attempt_at = $1 WHERE state = 'sending' AND lease_until < $1",
        )
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok((unknown, failed))
    }

    /// Claim up to `batch` due notifications for `lease`. Safe with many
    /// senders on one database: one UPDATE moves the rows to `sending`
    /// under a fresh claim token, re-checking their state (PostgreSQL
    /// skips rows another sender has locked; SQLite runs one writer at a
    /// time), and only rows carrying this token are returned.
    pub async fn claim(
        &self,
        batch: u32,
        lease: std::time::Duration,
    ) -> Result<Vec<ClaimedNotice>, StoreError> {
        let now = now_millis();
        let token = Uuid::new_v4().to_string();
        let lock = match Backend::of_pool(&self.pool) {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let claim = format!(
            "UPDATE notification_outbox SET state = 'sending', claim_token = $1, lease_until = $2, \
             attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM notification_outbox \
                          WHERE state IN ('pending', 'unknown') AND next_attempt_at <= $3 \
                          ORDER BY next_attempt_at LIMIT $4{lock}) \
             AND state IN ('pending', 'unknown')"
        );
        let claimed = sqlx::query(sqlx::AssertSqlSafe(claim))
            .bind(&token)
            .bind(now.saturating_add(lease.as_millis() as i64))
            .bind(now)
            .bind(i64::from(batch))
            .execute(&self.pool)
            .await?
            .rows_affected();
        if claimed == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT o.id, o.tenant_id, o.patient_id, o.recipient, o.kind, o.attempts, \
             o.link_token, t.name, t.notify_with_facility_name \
             FROM notification_outbox o JOIN tenants t ON t.id = o.tenant_id \
             WHERE o.claim_token = $1",
        )
        .bind(&token)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| claimed_notice(row, &token)).collect()
    }

    /// Record delivery of these notifications (one transaction). Returns
    /// how many were still this sender's to mark: a row whose lease ran out
    /// meanwhile belongs to whoever reclaimed it, and is sent again (with
    /// the same Message-ID).
    pub async fn mark_sent(&self, sent: &[&ClaimedNotice]) -> Result<u64, StoreError> {
        if sent.is_empty() {
            return Ok(0);
        }
        let now = now_millis();
        let mut tx = crate::sql::begin_write(&self.pool).await?;
        let mut marked = 0;
        for notice in sent {
            marked += sqlx::query(
                "UPDATE notification_outbox SET state = 'sent', sent_at = $1, claim_token = NULL, \
                 lease_until = NULL, last_error = NULL, link_token = NULL \
                 WHERE id = $2 AND claim_token = $3 AND state = 'sending'",
            )
            .bind(now)
            .bind(notice.key.to_string())
            .bind(&notice.claim_token)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(marked)
    }

    /// Record a failed attempt: due again at `retry_at` (Unix ms), or
    /// `failed` for good when `retry_at` is `None`. `error` is the SMTP
    /// error (no health data: the mail carries none), cut to 500 chars.
    pub async fn mark_attempt_failed(
        &self,
        notice: &ClaimedNotice,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let error: String = error.chars().take(500).collect();
        let (state, next) = match retry_at {
            Some(at) => ("pending", at),
            None => ("failed", now_millis()),
        };
        let changed = sqlx::query(
            "UPDATE notification_outbox SET state = $1, next_attempt_at = $2, last_error = $3, \
             claim_token = NULL, lease_until = NULL, \
             link_token = CASE WHEN $1 = 'failed' THEN NULL ELSE link_token END \
             WHERE id = $4 AND claim_token = $5 AND state = 'sending'",
        )
        .bind(state)
        .bind(next)
        .bind(error)
        .bind(notice.key.to_string())
        .bind(&notice.claim_token)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    /// Forget notifications sent before `before` (Unix ms): their only
    /// personal data is the recipient's address, kept no longer than
    /// needed. Failed ones stay until an operator has seen them.
    pub async fn purge_sent(&self, before: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM notification_outbox WHERE state = 'sent' AND sent_at < $1")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Drop notifications not yet sent: `hippo demo` seeds a history of
    /// conversations that is news to nobody, and must not mail its
    /// fictional patients once a relay is configured.
    pub async fn discard_unsent_seed_notices(&self) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM notification_outbox WHERE state = 'pending' AND attempts = 0")
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Notifications per state, for operators.
    pub async fn counts(&self) -> Result<OutboxCounts, StoreError> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM notification_outbox GROUP BY state ORDER BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut counts = OutboxCounts::default();
        for row in rows {
            let n = row.try_get::<i64, _>("n")? as u64;
            match row.try_get::<String, _>("state")?.as_str() {
                "pending" => counts.pending = n,
                "sending" => counts.sending = n,
                "unknown" => counts.unknown = n,
                "sent" => counts.sent = n,
                "failed" => counts.failed = n,
                other => return Err(StoreError::Corrupt(format!("outbox state {other}"))),
            }
        }
        Ok(counts)
    }
}

fn claimed_notice(row: &sqlx::any::AnyRow, token: &str) -> Result<ClaimedNotice, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("outbox {what}"));
    let text = |name: &str| row.try_get::<String, _>(name);
    let show_name = row.try_get::<i64, _>("notify_with_facility_name")? != 0;
    Ok(ClaimedNotice {
        key: text("id")?.parse().map_err(|_| corrupt("key"))?,
        tenant_id: text("tenant_id")?.parse().map_err(|_| corrupt("tenant"))?,
        patient_id: row
            .try_get::<Option<String>, _>("patient_id")?
            .map(|p| p.parse().map_err(|_| corrupt("patient")))
            .transpose()?,
        recipient: text("recipient")?,
        kind: NoticeKind::parse(&text("kind")?).ok_or_else(|| corrupt("kind"))?,
        link_token: row.try_get::<Option<String>, _>("link_token")?,
        attempts: row.try_get::<i64, _>("attempts")?.max(0) as u32,
        facility_name: if show_name { Some(text("name")?) } else { None },
        claim_token: token.to_owned(),
    })
}
