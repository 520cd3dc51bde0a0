//! One's own sessions (issue 12): the list a person sees of where they
//! are logged in, revoking one or all others, and the devices they have
//! logged in from (for the new-device mail). Every statement names the
//! subject in its WHERE clause: a public ID of somebody else's session
//! matches nothing, exactly like one that does not exist.

use hippo_core::time_util::UnixMillis;
use sqlx::Row;

use crate::auth::{AuthStore, LoginSubject, SessionSurface, SessionTimes};
use crate::error::StoreError;

/// What a session records about where it was opened: a coarse device
/// label (browser family and OS, never the full User-Agent) and the
/// client's network, shortened (/24 or /64).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionDevice {
    pub label: String,
    pub network: String,
}

/// A live session of the caller, as the sessions list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnSession {
    /// Random, 128 bits; neither the token nor its hash.
    pub public_id: String,
    pub created_at: UnixMillis,
    pub last_seen_at: UnixMillis,
    pub surface: SessionSurface,
    pub device: SessionDevice,
    /// The session this request came with.
    pub current: bool,
}

/// The session column naming this subject, and its ID. The column name is
/// one of three constants, never input.
fn subject_column(subject: LoginSubject) -> (&'static str, String) {
    match subject {
        LoginSubject::Staff(id) => ("staff_id", id.to_string()),
        LoginSubject::Account(id) => ("account_id", id.to_string()),
        LoginSubject::Operator(id) => ("operator_id", id.to_string()),
    }
}

impl AuthStore {
    /// The subject's live sessions (neither idle nor past their age),
    /// newest first; `current_token_hash` marks the caller's own.
    pub async fn own_sessions(
        &self,
        subject: LoginSubject,
        current_token_hash: &str,
        times: SessionTimes,
    ) -> Result<Vec<OwnSession>, StoreError> {
        let (column, id) = subject_column(subject);
        let sql = format!(
            "SELECT public_id, created_at, last_seen_at, surface, device_label, client_network, \
             CAST(CASE WHEN token_hash = $1 THEN 1 ELSE 0 END AS BIGINT) AS is_current \
             FROM sessions WHERE {column} = $2 AND expires_at > $3 AND last_seen_at > $4 \
             ORDER BY created_at DESC, public_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(current_token_hash)
            .bind(id)
            .bind(times.now)
            .bind(times.now - times.idle_timeout_ms)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let surface: String = row.try_get("surface")?;
                Ok(OwnSession {
                    public_id: row.try_get("public_id")?,
                    created_at: row.try_get("created_at")?,
                    last_seen_at: row.try_get("last_seen_at")?,
                    surface: SessionSurface::parse(&surface)?,
                    device: SessionDevice {
                        label: row.try_get("device_label")?,
                        network: row.try_get("client_network")?,
                    },
                    current: row.try_get::<i64, _>("is_current")? == 1,
                })
            })
            .collect()
    }

    /// End one of the subject's sessions by its public ID. `false` when no
    /// session of this subject has that ID (someone else's included).
    pub async fn revoke_own_session(
        &self,
        subject: LoginSubject,
        public_id: &str,
    ) -> Result<bool, StoreError> {
        let (column, id) = subject_column(subject);
        let sql = format!("DELETE FROM sessions WHERE public_id = $1 AND {column} = $2");
        let deleted = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(public_id)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted == 1)
    }

    /// End every session of the subject but the one presented ("log out
    /// everywhere else"). Returns how many ended.
    pub async fn revoke_other_sessions(
        &self,
        subject: LoginSubject,
        current_token_hash: &str,
    ) -> Result<u64, StoreError> {
        let (column, id) = subject_column(subject);
        let sql = format!("DELETE FROM sessions WHERE {column} = $1 AND token_hash <> $2");
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(current_token_hash)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Remember that the subject logged in from this device; `true` if it
    /// had not before. One statement, so two logins from one new device at
    /// once report it new exactly once.
    pub async fn remember_device(
        &self,
        subject: LoginSubject,
        device_hash: &str,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO known_devices (subject_id, device_hash, first_seen_at, last_seen_at) \
             VALUES ($1, $2, $3, $3) ON CONFLICT (subject_id, device_hash) DO NOTHING",
        )
        .bind(subject.id())
        .bind(device_hash)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 0 {
            sqlx::query(
                "UPDATE known_devices SET last_seen_at = $1 WHERE subject_id = $2 AND device_hash = $3",
            )
            .bind(now)
            .bind(subject.id())
            .bind(device_hash)
            .execute(&self.pool)
            .await?;
        }
        Ok(inserted == 1)
    }
}
