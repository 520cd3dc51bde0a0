//! WebAuthn passkeys of login subjects and the ceremonies in flight.
//! Storage only: the passkey itself is opaque JSON (made and checked by the
//! server with webauthn-rs); every query carries the subject, so one
//! subject's passkeys can never be listed, renamed or deleted by another.

use hippo_core::time_util::UnixMillis;
use sqlx::{AnyPool, Row};
use uuid::Uuid;

use crate::auth::LoginSubject;
use crate::error::StoreError;

/// One registered passkey as listed to its owner (no key material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeySummary {
    pub id: Uuid,
    pub name: String,
    pub created_at: UnixMillis,
    pub last_used_at: Option<UnixMillis>,
}

/// A stored passkey with its webauthn-rs JSON, for a login ceremony.
#[derive(Debug, Clone)]
pub struct StoredPasskey {
    pub id: Uuid,
    pub passkey_json: String,
}

/// What a ceremony is for; part of the key, so a registration challenge
/// can never be finished as a login and the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyPurpose {
    Register,
    Login,
}

impl CeremonyPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Login => "login",
        }
    }
}

#[derive(Clone)]
pub struct PasskeyStore {
    pool: AnyPool,
}

fn uuid_of(row: &sqlx::any::AnyRow) -> Result<Uuid, StoreError> {
    let raw: String = row.try_get("id")?;
    raw.parse()
        .map_err(|_| StoreError::Corrupt(format!("passkey id {raw:?}")))
}

impl PasskeyStore {
    pub(crate) fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// The subject's passkeys, oldest first.
    pub async fn list(&self, subject: LoginSubject) -> Result<Vec<PasskeySummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, last_used_at FROM passkeys \
             WHERE subject_id = $1 ORDER BY created_at, id",
        )
        .bind(subject.id())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PasskeySummary {
                    id: uuid_of(row)?,
                    name: row.try_get("name")?,
                    created_at: row.try_get("created_at")?,
                    last_used_at: row.try_get("last_used_at")?,
                })
            })
            .collect()
    }

    /// The subject's passkeys with their JSON (for a login challenge).
    pub async fn credentials(
        &self,
        subject: LoginSubject,
    ) -> Result<Vec<StoredPasskey>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, passkey_json FROM passkeys WHERE subject_id = $1 ORDER BY created_at, id",
        )
        .bind(subject.id())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredPasskey {
                    id: uuid_of(row)?,
                    passkey_json: row.try_get("passkey_json")?,
                })
            })
            .collect()
    }

    /// Whether the subject has any passkey (it counts as a second factor).
    pub async fn has_any(&self, subject: LoginSubject) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT count(*) AS n FROM passkeys WHERE subject_id = $1")
            .bind(subject.id())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Register a passkey. `None` when the credential ID is registered
    /// already (to this or another subject): one authenticator credential
    /// belongs to one account.
    pub async fn add(
        &self,
        subject: LoginSubject,
        credential_id: &str,
        name: &str,
        passkey_json: &str,
        now: UnixMillis,
    ) -> Result<Option<Uuid>, StoreError> {
        let id = Uuid::new_v4();
        let done = sqlx::query(
            "INSERT INTO passkeys (id, subject_id, credential_id, name, passkey_json, created_at, last_used_at) \
             SELECT $1, $2, $3, $4, $5, $6, NULL \
             WHERE NOT EXISTS (SELECT 1 FROM passkeys WHERE credential_id = $3)",
        )
        .bind(id.to_string())
        .bind(subject.id())
        .bind(credential_id)
        .bind(name)
        .bind(passkey_json)
        .bind(now)
        .execute(&self.pool)
        .await;
        match done {
            Ok(done) if done.rows_affected() == 1 => Ok(Some(id)),
            Ok(_) => Ok(None),
            // Two registrations of one credential racing: the UNIQUE index
            // refuses the second.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Store the passkey's updated JSON (signature counter, backup state)
    /// after a successful login, and when it was used.
    pub async fn record_use(
        &self,
        subject: LoginSubject,
        id: Uuid,
        passkey_json: Option<&str>,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE passkeys SET passkey_json = coalesce($1, passkey_json), last_used_at = $2 \
             WHERE id = $3 AND subject_id = $4",
        )
        .bind(passkey_json)
        .bind(now)
        .bind(id.to_string())
        .bind(subject.id())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Rename one of the subject's passkeys; false when the subject has
    /// no passkey with this ID.
    pub async fn rename(
        &self,
        subject: LoginSubject,
        id: Uuid,
        name: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE passkeys SET name = $1 WHERE id = $2 AND subject_id = $3")
            .bind(name)
            .bind(id.to_string())
            .bind(subject.id())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Delete one of the subject's passkeys; false when the subject has
    /// no passkey with this ID (another subject's ID included).
    pub async fn delete(&self, subject: LoginSubject, id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND subject_id = $2")
            .bind(id.to_string())
            .bind(subject.id())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Start a ceremony, replacing an earlier one of the same owner (only
    /// the newest challenge of a session or pending login is valid).
    pub async fn start_ceremony(
        &self,
        purpose: CeremonyPurpose,
        owner_hash: &str,
        subject: LoginSubject,
        state_json: &str,
        now: UnixMillis,
        expires_at: UnixMillis,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM passkey_ceremonies WHERE purpose = $1 AND owner_hash = $2")
            .bind(purpose.as_str())
            .bind(owner_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO passkey_ceremonies (purpose, owner_hash, subject_id, state_json, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(purpose.as_str())
        .bind(owner_hash)
        .bind(subject.id())
        .bind(state_json)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Take the live ceremony of this owner and subject out of the store:
    /// one DELETE ... RETURNING, so of any number of concurrent finishes
    /// exactly one gets the state, and a used challenge is gone.
    pub async fn take_ceremony(
        &self,
        purpose: CeremonyPurpose,
        owner_hash: &str,
        subject: LoginSubject,
        now: UnixMillis,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM passkey_ceremonies \
             WHERE purpose = $1 AND owner_hash = $2 AND subject_id = $3 AND expires_at > $4 \
             RETURNING state_json",
        )
        .bind(purpose.as_str())
        .bind(owner_hash)
        .bind(subject.id())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get("state_json").map_err(StoreError::from))
            .transpose()
    }
}
