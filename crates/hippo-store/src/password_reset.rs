//! Password reset by e-mail (issue 12) and the mails about one's own
//! account (new device, reset link).
//!
//! A reset token is 256 random bits; only its SHA-256 is stored. It is
//! redeemed by one conditional UPDATE (unused and unexpired), so of many
//! concurrent confirmations exactly one wins; the new password and the end
//! of every session of the account commit with it.
//!
//! Account mails have no tenant or patient record, so they have a small
//! outbox of their own. Their text is made when enqueued (in the person's
//! language); a reset mail's body holds its link, so the body is blanked
//! as soon as it is sent.

use hippo_core::time_util::UnixMillis;
use sqlx::Row;
use uuid::Uuid;

use crate::auth::{AuthStore, LoginSubject};
use crate::error::StoreError;
use crate::sql::begin_write;

/// Whose password a reset sets: staff members and patient accounts.
/// Operators are refused by the server (their console controls every
/// tenant; an e-mail is not enough to take it over).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetSubject {
    Staff(hippo_core::StaffId),
    Account(hippo_core::AccountId),
}

impl ResetSubject {
    pub fn of(subject: LoginSubject) -> Option<Self> {
        match subject {
            LoginSubject::Staff(id) => Some(Self::Staff(id)),
            LoginSubject::Account(id) => Some(Self::Account(id)),
            LoginSubject::Operator(_) => None,
        }
    }

    pub fn login_subject(self) -> LoginSubject {
        match self {
            Self::Staff(id) => LoginSubject::Staff(id),
            Self::Account(id) => LoginSubject::Account(id),
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Self::Staff(_) => "staff",
            Self::Account(_) => "account",
        }
    }

    fn table(self) -> &'static str {
        match self {
            Self::Staff(_) => "staff_users",
            Self::Account(_) => "accounts",
        }
    }

    fn session_column(self) -> &'static str {
        match self {
            Self::Staff(_) => "staff_id",
            Self::Account(_) => "account_id",
        }
    }

    fn id(self) -> String {
        self.login_subject().id()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountMailKind {
    NewDevice,
    PasswordReset,
}

impl AccountMailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewDevice => "new_device",
            Self::PasswordReset => "password_reset",
        }
    }
}

/// A mail about one's own account, ready to send.
#[derive(Clone)]
pub struct AccountMail {
    pub kind: AccountMailKind,
    pub subject_id: String,
    pub recipient: String,
    pub mail_subject: String,
    pub body: String,
}

impl std::fmt::Debug for AccountMail {
    // The body may hold a reset link.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountMail")
            .field("kind", &self.kind)
            .field("subject_id", &self.subject_id)
            .finish_non_exhaustive()
    }
}

/// An account mail claimed by one sender.
#[derive(Clone)]
pub struct ClaimedAccountMail {
    pub key: Uuid,
    pub recipient: String,
    pub mail_subject: String,
    pub body: String,
    pub attempts: u32,
    claim_token: String,
}

async fn enqueue_on(
    conn: &mut sqlx::AnyConnection,
    mail: &AccountMail,
    now: UnixMillis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO account_mail_outbox (id, subject_id, recipient, kind, mail_subject, body, \
         state, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(&mail.subject_id)
    .bind(&mail.recipient)
    .bind(mail.kind.as_str())
    .bind(&mail.mail_subject)
    .bind(&mail.body)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

impl AuthStore {
    /// The stored e-mail address of a subject (where its mails go).
    pub async fn email_of(&self, subject: LoginSubject) -> Result<Option<String>, StoreError> {
        let table = match subject {
            LoginSubject::Staff(_) => "staff_users",
            LoginSubject::Account(_) => "accounts",
            LoginSubject::Operator(_) => "operators",
        };
        let sql = format!("SELECT email FROM {table} WHERE id = $1");
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(subject.id())
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.try_get::<String, _>("email"))
            .transpose()?)
    }

    pub async fn enqueue_account_mail(
        &self,
        mail: &AccountMail,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        enqueue_on(&mut *self.pool.acquire().await?, mail, now).await
    }

    /// Store a reset token's hash with its mail in one transaction, unless
    /// the subject already had `limit` tokens since `since` (the
    /// per-account limit, in the database so that it holds across
    /// instances and concurrent requests). `false` when over the limit.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_reset(
        &self,
        token_hash: &str,
        subject: ResetSubject,
        now: UnixMillis,
        expires_at: UnixMillis,
        limit: (UnixMillis, i64),
        mail: &AccountMail,
    ) -> Result<bool, StoreError> {
        let (since, max) = limit;
        let mut tx = begin_write(&self.pool).await?;
        // SQLite: BEGIN IMMEDIATE serialises writers. PostgreSQL: the
        // subject's row lock serialises the requests for one account.
        if crate::sql::Backend::of_pool(&self.pool) == crate::sql::Backend::Postgres {
            let lock = format!(
                "SELECT id FROM {} WHERE id = $1 FOR UPDATE",
                subject.table()
            );
            sqlx::query(sqlx::AssertSqlSafe(lock))
                .bind(subject.id())
                .fetch_optional(&mut *tx)
                .await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO password_resets (token_hash, subject_kind, subject_id, created_at, expires_at) \
             SELECT $1, $2, $3, $4, $5 WHERE (SELECT COUNT(*) FROM password_resets \
             WHERE subject_id = $3 AND created_at >= $6) < $7",
        )
        .bind(token_hash)
        .bind(subject.kind())
        .bind(subject.id())
        .bind(now)
        .bind(expires_at)
        .bind(since)
        .bind(max)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        enqueue_on(&mut tx, mail, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The subject of an unused, unexpired token (a cheap check before the
    /// new password is hashed; the redeeming UPDATE checks again).
    pub async fn reset_subject(
        &self,
        token_hash: &str,
        now: UnixMillis,
    ) -> Result<Option<ResetSubject>, StoreError> {
        let row = sqlx::query(
            "SELECT subject_kind, subject_id FROM password_resets \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("subject_kind")?;
        let id: String = row.try_get("subject_id")?;
        let corrupt = || StoreError::Corrupt("password reset subject".into());
        Ok(Some(match kind.as_str() {
            "staff" => ResetSubject::Staff(id.parse().map_err(|_| corrupt())?),
            "account" => ResetSubject::Account(id.parse().map_err(|_| corrupt())?),
            _ => return Err(corrupt()),
        }))
    }

    /// Redeem a token: used up by exactly one caller, which sets the new
    /// password hash and ends every session (and pending login) of the
    /// account, all in one transaction. `None` if the token was unknown,
    /// used or expired.
    pub async fn redeem_reset(
        &self,
        token_hash: &str,
        now: UnixMillis,
        new_password_hash: &str,
    ) -> Result<Option<ResetSubject>, StoreError> {
        let Some(subject) = self.reset_subject(token_hash, now).await? else {
            return Ok(None);
        };
        let mut tx = begin_write(&self.pool).await?;
        let used = sqlx::query(
            "UPDATE password_resets SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if used != 1 {
            return Ok(None);
        }
        let set = format!(
            "UPDATE {} SET password_hash = $1 WHERE id = $2",
            subject.table()
        );
        sqlx::query(sqlx::AssertSqlSafe(set))
            .bind(new_password_hash)
            .bind(subject.id())
            .execute(&mut *tx)
            .await?;
        let end = format!(
            "DELETE FROM sessions WHERE {} = $1",
            subject.session_column()
        );
        sqlx::query(sqlx::AssertSqlSafe(end))
            .bind(subject.id())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM pending_logins WHERE subject_id = $1")
            .bind(subject.id())
            .execute(&mut *tx)
            .await?;
        // Other outstanding tokens of the account die with this one.
        sqlx::query(
            "UPDATE password_resets SET used_at = $1 WHERE subject_id = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(subject.id())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(subject))
    }

    /// Claim due account mails for `lease_ms`.
    pub async fn claim_account_mails(
        &self,
        batch: u32,
        lease_ms: i64,
        now: UnixMillis,
    ) -> Result<Vec<ClaimedAccountMail>, StoreError> {
        let token = Uuid::new_v4().to_string();
        // Leases that ran out go back to pending first.
        sqlx::query(
            "UPDATE account_mail_outbox SET state = 'pending', claim_token = NULL, lease_until = NULL \
             WHERE state = 'sending' AND lease_until < $1",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        let claimed = sqlx::query(
            "UPDATE account_mail_outbox SET state = 'sending', claim_token = $1, lease_until = $2, \
             attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM account_mail_outbox WHERE state = 'pending' \
                          AND next_attempt_at <= $3 ORDER BY next_attempt_at LIMIT $4) \
             AND state = 'pending'",
        )
        .bind(&token)
        .bind(now.saturating_add(lease_ms))
        .bind(now)
        .bind(i64::from(batch))
        .execute(&self.pool)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT id, recipient, mail_subject, body, attempts FROM account_mail_outbox \
             WHERE claim_token = $1",
        )
        .bind(&token)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                Ok(ClaimedAccountMail {
                    key: id
                        .parse()
                        .map_err(|_| StoreError::Corrupt("account mail key".into()))?,
                    recipient: row.try_get("recipient")?,
                    mail_subject: row.try_get("mail_subject")?,
                    body: row.try_get("body")?,
                    attempts: row.try_get::<i64, _>("attempts")?.max(0) as u32,
                    claim_token: token.clone(),
                })
            })
            .collect()
    }

    /// Sent: the body (a reset link, maybe) is blanked.
    pub async fn mark_account_mail_sent(
        &self,
        mail: &ClaimedAccountMail,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE account_mail_outbox SET state = 'sent', sent_at = $1, body = '', \
             claim_token = NULL, lease_until = NULL, last_error = NULL \
             WHERE id = $2 AND claim_token = $3",
        )
        .bind(now)
        .bind(mail.key.to_string())
        .bind(&mail.claim_token)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Not sent this time: due again at `retry_at`, or failed for good
    /// (body blanked) when `None`.
    pub async fn mark_account_mail_failed(
        &self,
        mail: &ClaimedAccountMail,
        error: &str,
        retry_at: Option<UnixMillis>,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        let error: String = error.chars().take(500).collect();
        let sql = match retry_at {
            Some(_) => {
                "UPDATE account_mail_outbox SET state = 'pending', next_attempt_at = $1, \
                 last_error = $2, claim_token = NULL, lease_until = NULL \
                 WHERE id = $3 AND claim_token = $4"
            }
            None => {
                "UPDATE account_mail_outbox SET state = 'failed', next_attempt_at = $1, body = '', \
                 last_error = $2, claim_token = NULL, lease_until = NULL \
                 WHERE id = $3 AND claim_token = $4"
            }
        };
        sqlx::query(sql)
            .bind(retry_at.unwrap_or(now))
            .bind(error)
            .bind(mail.key.to_string())
            .bind(&mail.claim_token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
