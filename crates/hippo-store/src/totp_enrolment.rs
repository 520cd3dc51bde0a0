//! Enrolling a TOTP factor: a seed is offered (sealed, server-side) and
//! becomes the subject's factor only when a right code confirms it, in one
//! transaction with the new recovery codes; removing a factor. Storage
//! only: who must keep a factor is decided by the server.

use hippo_core::time_util::UnixMillis;
use sqlx::Row;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::auth::LoginSubject;
use crate::error::StoreError;
use crate::second_factor::{SecondFactorStore, TOTP_SEED};
use crate::vault::SealedCredential;

/// A seed offered to a subject, waiting for its first right code.
pub struct TotpCandidate {
    pub id: String,
    pub seed: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for TotpCandidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpCandidate")
            .field("id", &self.id)
            .field("seed", &"<redacted>")
            .finish()
    }
}

/// What confirming a candidate needs besides the subject.
pub struct Confirmation<'a> {
    pub candidate_id: &'a str,
    /// The time step of the right code: claimed at once, so that the code
    /// that confirmed the factor cannot also log in.
    pub step: i64,
    pub recovery_code_hashes: &'a [String],
    /// The enrolment's pending login, used up in the same transaction
    /// (absent when a logged-in person enrols).
    pub pending_token_hash: Option<&'a str>,
    pub now: UnixMillis,
}

impl SecondFactorStore {
    /// Offer `seed` to `subject`, replacing an earlier offer.
    pub async fn offer_totp(
        &self,
        subject: LoginSubject,
        seed: &[u8],
        now: UnixMillis,
        expires_at: UnixMillis,
    ) -> Result<(), StoreError> {
        let id = Uuid::new_v4().to_string();
        let subject_id = subject.id();
        // Sealed exactly as a factor is: confirming moves these bytes.
        let sealed = self
            .vault
            .seal_credential(&subject_id, TOTP_SEED, &id, seed)?;
        let mut tx = crate::sql::begin_write(&self.pool).await?;
        sqlx::query("DELETE FROM totp_candidates WHERE subject_id = $1 OR expires_at <= $2")
            .bind(&subject_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO totp_candidates (subject_id, id, master_key_id, wrapped_key, \
             sealed_secret, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&subject_id)
        .bind(&id)
        .bind(&sealed.master_key_id)
        .bind(&sealed.wrapped_key)
        .bind(&sealed.sealed)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The subject's live offer, with its seed opened.
    pub async fn totp_candidate(
        &self,
        subject: LoginSubject,
        now: UnixMillis,
    ) -> Result<Option<TotpCandidate>, StoreError> {
        let subject_id = subject.id();
        let Some(row) = sqlx::query(
            "SELECT id, master_key_id, wrapped_key, sealed_secret FROM totp_candidates \
             WHERE subject_id = $1 AND expires_at > $2",
        )
        .bind(&subject_id)
        .bind(now)
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
        Ok(Some(TotpCandidate { id, seed }))
    }

    /// Make the candidate the subject's factor (replacing any earlier
    /// one) with a new set of recovery codes, using up the pending login
    /// if given. One transaction whose first statement takes the offer (or
    /// the pending login): of any number of concurrent confirmations
    /// exactly one returns true, and a false one changed nothing.
    pub async fn confirm_totp(
        &self,
        subject: LoginSubject,
        confirmation: &Confirmation<'_>,
    ) -> Result<bool, StoreError> {
        let subject_id = subject.id();
        let now = confirmation.now;
        let mut tx = crate::sql::begin_write(&self.pool).await?;
        if let Some(token_hash) = confirmation.pending_token_hash {
            let used = sqlx::query(
                "DELETE FROM pending_logins WHERE token_hash = $1 AND subject_id = $2 \
                 AND purpose = 'enrolment' AND expires_at > $3",
            )
            .bind(token_hash)
            .bind(&subject_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if used.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        // Take the offer first: a concurrent confirmation waits here and
        // then finds nothing to take.
        let taken = sqlx::query(
            "UPDATE totp_candidates SET expires_at = 0 \
             WHERE subject_id = $1 AND id = $2 AND expires_at > $3",
        )
        .bind(&subject_id)
        .bind(confirmation.candidate_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("DELETE FROM totp_factors WHERE subject_id = $1")
            .bind(&subject_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO totp_factors (id, subject_id, master_key_id, wrapped_key, sealed_secret, \
             confirmed_at, last_used_step, created_at) \
             SELECT id, subject_id, master_key_id, wrapped_key, sealed_secret, $1, $2, $1 \
             FROM totp_candidates WHERE subject_id = $3 AND id = $4",
        )
        .bind(now)
        .bind(confirmation.step)
        .bind(&subject_id)
        .bind(confirmation.candidate_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM totp_candidates WHERE subject_id = $1")
            .bind(&subject_id)
            .execute(&mut *tx)
            .await?;
        write_recovery_codes(&mut tx, &subject_id, confirmation.recovery_code_hashes, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Remove the subject's second factor, its offers and its recovery
    /// codes; true when there was a factor. The next login of staff and
    /// operators then asks for a new enrolment.
    pub async fn remove_second_factor(&self, subject: LoginSubject) -> Result<bool, StoreError> {
        let subject_id = subject.id();
        let mut tx = crate::sql::begin_write(&self.pool).await?;
        let removed = sqlx::query("DELETE FROM totp_factors WHERE subject_id = $1")
            .bind(&subject_id)
            .execute(&mut *tx)
            .await?;
        for table in [
            "DELETE FROM totp_candidates WHERE subject_id = $1",
            "DELETE FROM recovery_codes WHERE subject_id = $1",
            // A login waiting for the removed factor's code ends too.
            "DELETE FROM pending_logins WHERE subject_id = $1",
        ] {
            sqlx::query(table)
                .bind(&subject_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(removed.rows_affected() > 0)
    }
}

/// Replace a subject's recovery codes inside a transaction.
pub(crate) async fn write_recovery_codes(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    subject_id: &str,
    code_hashes: &[String],
    now: UnixMillis,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM recovery_codes WHERE subject_id = $1")
        .bind(subject_id)
        .execute(&mut **tx)
        .await?;
    for hash in code_hashes {
        sqlx::query(
            "INSERT INTO recovery_codes (subject_id, code_hash, created_at, used_at) \
             VALUES ($1, $2, $3, NULL)",
        )
        .bind(subject_id)
        .bind(hash)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
