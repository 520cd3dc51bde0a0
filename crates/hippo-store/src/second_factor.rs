//! Second factors: TOTP seeds (sealed at rest), the logins that wait for
//! a code, and single-use recovery codes. Storage only: which code is
//! right, and who must have a factor, is decided by the server.

use hippo_core::time_util::UnixMillis;
use sqlx::{AnyPool, Row};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::auth::LoginSubject;
use crate::error::StoreError;
use crate::rows::parse;
use crate::vault::{SealedCredential, Vault};

/// The seal kind of TOTP seeds (part of the ciphertext's binding).
pub(crate) const TOTP_SEED: &str = "totp_seed";

/// A subject's TOTP factor, with its seed opened.
pub struct TotpFactor {
    pub id: String,
    pub seed: Zeroizing<Vec<u8>>,
    pub confirmed: bool,
}

impl std::fmt::Debug for TotpFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpFactor")
            .field("id", &self.id)
            .field("seed", &"<redacted>")
            .field("confirmed", &self.confirmed)
            .finish()
    }
}

/// A login waiting for its second factor.
#[derive(Debug, Clone, Copy)]
pub struct PendingLogin {
    pub subject: LoginSubject,
    pub failed_attempts: i64,
    /// What the pending login may lead to: a code for the factor the
    /// subject has, or the enrolment of one it lacks.
    pub purpose: PendingPurpose,
}

/// The one next step a pending login allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingPurpose {
    SecondFactor,
    Enrolment,
}

impl PendingPurpose {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::SecondFactor => "second_factor",
            Self::Enrolment => "enrolment",
        }
    }
}

#[derive(Clone)]
pub struct SecondFactorStore {
    pub(crate) pool: AnyPool,
    pub(crate) vault: Vault,
}

pub(crate) fn subject_kind(subject: LoginSubject) -> &'static str {
    match subject {
        LoginSubject::Staff(_) => "staff",
        LoginSubject::Account(_) => "account",
        LoginSubject::Operator(_) => "operator",
    }
}

impl SecondFactorStore {
    pub(crate) fn new(pool: AnyPool, vault: Vault) -> Self {
        Self { pool, vault }
    }

    /// Store a new TOTP seed for `subject`, replacing any earlier one (a
    /// replaced factor's codes stop working at once). `confirmed`: the
    /// subject already proved a code (or the seed was provisioned, as in
    /// the demo); otherwise the first right code confirms it.
    pub async fn enrol_totp(
        &self,
        subject: LoginSubject,
        seed: &[u8],
        confirmed: bool,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        let id = Uuid::new_v4().to_string();
        let subject_id = subject.id();
        let sealed = self
            .vault
            .seal_credential(&subject_id, TOTP_SEED, &id, seed)?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM totp_factors WHERE subject_id = $1")
            .bind(&subject_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO totp_factors (id, subject_id, master_key_id, wrapped_key, sealed_secret, \
             confirmed_at, last_used_step, created_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)",
        )
        .bind(&id)
        .bind(&subject_id)
        .bind(&sealed.master_key_id)
        .bind(&sealed.wrapped_key)
        .bind(&sealed.sealed)
        .bind(confirmed.then_some(now))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The subject's TOTP factor with its seed, if any.
    pub async fn totp(&self, subject: LoginSubject) -> Result<Option<TotpFactor>, StoreError> {
        let subject_id = subject.id();
        let Some(row) = sqlx::query(
            "SELECT id, master_key_id, wrapped_key, sealed_secret, confirmed_at \
             FROM totp_factors WHERE subject_id = $1",
        )
        .bind(&subject_id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let id: String = row.try_get("id")?;
        let stored = SealedCredential {
            master_key_id: row.try_get("master_key_id")?,
            wrapped_key: row.try_get("wrapped_key")?,
            sealed: row.try_get("sealed_secret")?,
        };
        let seed = self
            .vault
            .open_credential(&subject_id, TOTP_SEED, &id, &stored)?;
        Ok(Some(TotpFactor {
            id,
            seed,
            confirmed: row.try_get::<Option<i64>, _>("confirmed_at")?.is_some(),
        }))
    }

    /// Whether the subject has a confirmed second factor: a confirmed TOTP
    /// seed or a registered passkey.
    pub async fn has_second_factor(&self, subject: LoginSubject) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM totp_factors WHERE subject_id = $1 AND confirmed_at IS NOT NULL) \
             + (SELECT count(*) FROM passkeys WHERE subject_id = $1) AS n",
        )
        .bind(subject.id())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Claim time step `step` of factor `factor_id` (and confirm the
    /// factor). One conditional UPDATE: of any number of concurrent
    /// claims of one step, exactly one changes the row; a step at or below
    /// the last accepted one changes nothing. True when this call won.
    pub async fn claim_totp_step(
        &self,
        factor_id: &str,
        step: i64,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE totp_factors SET last_used_step = $1, \
             confirmed_at = coalesce(confirmed_at, $2) \
             WHERE id = $3 AND (last_used_step IS NULL OR last_used_step < $1)",
        )
        .bind(step)
        .bind(now)
        .bind(factor_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn create_pending_login(
        &self,
        token_hash: &str,
        subject: LoginSubject,
        now: UnixMillis,
        expires_at: UnixMillis,
    ) -> Result<(), StoreError> {
        self.create_pending(
            token_hash,
            subject,
            PendingPurpose::SecondFactor,
            now,
            expires_at,
        )
        .await
    }

    /// A pending login for `purpose`.
    pub async fn create_pending(
        &self,
        token_hash: &str,
        subject: LoginSubject,
        purpose: PendingPurpose,
        now: UnixMillis,
        expires_at: UnixMillis,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pending_logins (token_hash, subject_kind, subject_id, failed_attempts, \
             created_at, expires_at, purpose) VALUES ($1, $2, $3, 0, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(subject_kind(subject))
        .bind(subject.id())
        .bind(now)
        .bind(expires_at)
        .bind(purpose.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live pending login of a token hash; expired ones are removed.
    pub async fn pending_login(
        &self,
        token_hash: &str,
        now: UnixMillis,
    ) -> Result<Option<PendingLogin>, StoreError> {
        sqlx::query("DELETE FROM pending_logins WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let Some(row) = sqlx::query(
            "SELECT subject_kind, subject_id, failed_attempts, purpose FROM pending_logins \
             WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let kind: String = row.try_get("subject_kind")?;
        let subject = match kind.as_str() {
            "staff" => LoginSubject::Staff(parse(&row, "subject_id")?),
            "operator" => LoginSubject::Operator(parse(&row, "subject_id")?),
            _ => LoginSubject::Account(parse(&row, "subject_id")?),
        };
        let purpose: String = row.try_get("purpose")?;
        Ok(Some(PendingLogin {
            subject,
            failed_attempts: row.try_get("failed_attempts")?,
            purpose: if purpose == "enrolment" {
                PendingPurpose::Enrolment
            } else {
                PendingPurpose::SecondFactor
            },
        }))
    }

    /// Count a wrong code; the pending login is dropped once it reached
    /// `limit` wrong codes (the password must then be given again).
    pub async fn record_wrong_code(&self, token_hash: &str, limit: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE pending_logins SET failed_attempts = failed_attempts + 1 WHERE token_hash = $1",
        )
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        sqlx::query("DELETE FROM pending_logins WHERE token_hash = $1 AND failed_attempts >= $2")
            .bind(token_hash)
            .bind(limit)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Use up a pending login; true for exactly one caller.
    pub async fn consume_pending_login(&self, token_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM pending_logins WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replace the subject's recovery codes (given as hashes).
    pub async fn replace_recovery_codes(
        &self,
        subject: LoginSubject,
        code_hashes: &[String],
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        let subject_id = subject.id();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE subject_id = $1")
            .bind(&subject_id)
            .execute(&mut *tx)
            .await?;
        for hash in code_hashes {
            sqlx::query(
                "INSERT INTO recovery_codes (subject_id, code_hash, created_at, used_at) \
                 VALUES ($1, $2, $3, NULL)",
            )
            .bind(&subject_id)
            .bind(hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Use one recovery code: true for exactly one caller, once.
    pub async fn use_recovery_code(
        &self,
        subject: LoginSubject,
        code_hash: &str,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 \
             WHERE subject_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(subject.id())
        .bind(code_hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many unused recovery codes the subject has left.
    pub async fn recovery_codes_left(&self, subject: LoginSubject) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT count(*) AS n FROM recovery_codes WHERE subject_id = $1 AND used_at IS NULL",
        )
        .bind(subject.id())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }
}
