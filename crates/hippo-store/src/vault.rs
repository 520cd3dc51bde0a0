//! Envelope encryption of blobs (DESIGN invariant 7): every blob is sealed
//! with its tenant's data key before it leaves the process, and opened only
//! after it was read back. There is no unencrypted path and no parameter
//! that selects one.
//!
//! Data keys are created on first use, stored only wrapped under the
//! current master key (`tenant_keys`), and cached unwrapped in memory for a
//! minute, so that a key destroyed or re-wrapped by another process is
//! noticed soon.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use hippo_core::TenantId;
use hippo_core::time_util::now_millis;
use hippo_crypto::{CryptoError, DataKey, Keyring, MasterKeyId, ObjectBinding, WrappedDataKey};
use sqlx::{AnyConnection, AnyPool, Row};

use crate::blobs::BlobStore;
use crate::error::{StoreError, cause};

const CACHE_FOR: Duration = Duration::from_secs(60);

/// Where the master keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A keyring file (`hippo keys init`); re-read when a data key names a
    /// master key it does not know yet (after `hippo keys rotate`).
    File(PathBuf),
    /// A fixed keyring, e.g. one key from the environment.
    Fixed(Arc<Keyring>),
}

impl KeySource {
    fn load(&self) -> Result<Arc<Keyring>, StoreError> {
        match self {
            Self::Fixed(ring) => Ok(ring.clone()),
            Self::File(path) => {
                let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                    StoreError::keys(
                        format!(
                            "cannot read the master keyring {}; create one with `hippo keys init`",
                            path.display()
                        ),
                        cause(e),
                    )
                })?);
                Ok(Arc::new(Keyring::parse(&text).map_err(keys)?))
            }
        }
    }
}

fn keys(e: CryptoError) -> StoreError {
    StoreError::keys("the keys do not open", cause(e))
}

/// A credential secret as stored: sealed under its own data key, which is
/// wrapped under the named master key.
#[derive(Clone)]
pub struct SealedCredential {
    pub master_key_id: String,
    pub wrapped_key: Vec<u8>,
    pub sealed: Vec<u8>,
}

/// The wrapping label of a subject's credential keys; distinct from every
/// tenant ID (a bare UUID), so no tenant key and credential key can be
/// swapped.
fn credential_owner(subject_id: &str) -> String {
    format!("subject:{subject_id}")
}

/// A stored blob: its object name and sealed size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRef {
    pub name: String,
    pub sealed_size: i64,
}

/// Blob rows per insert (6 bound values each).
const BLOBS_PER_STATEMENT: usize = 500;

/// Unwrapped data keys by tenant, with the time they were read.
type KeyCache = HashMap<TenantId, (Instant, Arc<DataKey>)>;

#[derive(Clone)]
pub struct Vault {
    pool: AnyPool,
    blobs: BlobStore,
    source: Option<KeySource>,
    keyring: Arc<RwLock<Option<Arc<Keyring>>>>,
    cache: Arc<Mutex<KeyCache>>,
}

impl Vault {
    pub(crate) fn new(pool: AnyPool, blobs: BlobStore, source: Option<KeySource>) -> Self {
        Self {
            pool,
            blobs,
            source,
            keyring: Arc::default(),
            cache: Arc::default(),
        }
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// The object name of a tenant's blob: IDs only.
    pub fn blob_name(tenant: TenantId, kind: &str, object_id: &str) -> String {
        format!("tenants/{tenant}/{kind}/{object_id}")
    }

    fn keyring(&self, reload: bool) -> Result<Arc<Keyring>, StoreError> {
        let source = self.source.as_ref().ok_or_else(|| {
            StoreError::keys(
                "no master keyring is configured; see `hippo keys init`",
                None,
            )
        })?;
        if !reload
            && let Ok(guard) = self.keyring.read()
            && let Some(ring) = guard.as_ref()
        {
            return Ok(ring.clone());
        }
        let ring = source.load()?;
        if let Ok(mut guard) = self.keyring.write() {
            *guard = Some(ring.clone());
        }
        Ok(ring)
    }

    /// Check at start-up that the master keyring can be read.
    pub fn check_keyring(&self) -> Result<MasterKeyId, StoreError> {
        Ok(self.keyring(true)?.current().id())
    }

    fn unwrap_key(
        &self,
        tenant: TenantId,
        wrapped: &WrappedDataKey,
    ) -> Result<DataKey, StoreError> {
        let tenant_text = tenant.to_string();
        match DataKey::unwrap(&*self.keyring(false)?, &tenant_text, wrapped) {
            // Rotated by another process: read the keyring file again.
            Err(CryptoError::UnknownMasterKey(_)) => {
                DataKey::unwrap(&*self.keyring(true)?, &tenant_text, wrapped).map_err(keys)
            }
            other => other.map_err(keys),
        }
    }

    /// The tenant's data key, created on first use.
    async fn data_key(&self, tenant: TenantId) -> Result<Arc<DataKey>, StoreError> {
        if let Ok(cache) = self.cache.lock()
            && let Some((at, key)) = cache.get(&tenant)
            && at.elapsed() < CACHE_FOR
        {
            return Ok(key.clone());
        }
        let key = match self.stored_key(tenant).await? {
            Some(wrapped) => self.unwrap_key(tenant, &wrapped)?,
            None => {
                let fresh = DataKey::generate().map_err(keys)?;
                let wrapped = fresh
                    .wrap(self.keyring(false)?.current(), &tenant.to_string())
                    .map_err(keys)?;
                // Another instance may create the key at the same moment:
                // the first row wins and everyone uses it.
                sqlx::query(
                    "INSERT INTO tenant_keys (tenant_id, master_key_id, wrapped, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO NOTHING",
                )
                .bind(tenant.to_string())
                .bind(wrapped.master_key.to_hex())
                .bind(&wrapped.sealed)
                .bind(now_millis())
                .execute(&self.pool)
                .await?;
                let stored = self
                    .stored_key(tenant)
                    .await?
                    .ok_or_else(|| StoreError::keys("data key vanished", None))?;
                self.unwrap_key(tenant, &stored)?
            }
        };
        let key = Arc::new(key);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(tenant, (Instant::now(), key.clone()));
        }
        Ok(key)
    }

    async fn stored_key(&self, tenant: TenantId) -> Result<Option<WrappedDataKey>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT master_key_id, wrapped, destroyed_at FROM tenant_keys WHERE tenant_id = $1",
        )
        .bind(tenant.to_string())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        if row.try_get::<Option<i64>, _>("destroyed_at")?.is_some() {
            return Err(StoreError::keys(
                format!("the data key of tenant {tenant} was destroyed"),
                None,
            ));
        }
        let master: String = row.try_get("master_key_id")?;
        Ok(Some(WrappedDataKey {
            master_key: MasterKeyId::from_hex(&master).map_err(keys)?,
            sealed: row.try_get("wrapped")?,
        }))
    }

    /// Run `work` with the tenant's data key and the object's binding on a
    /// blocking thread: sealing or opening megabytes takes milliseconds,
    /// too long for the async workers.
    async fn with_key<T: Send + 'static>(
        &self,
        tenant: TenantId,
        kind: &str,
        object_id: &str,
        work: impl FnOnce(&DataKey, &ObjectBinding<'_>) -> Result<T, CryptoError> + Send + 'static,
    ) -> Result<Result<T, CryptoError>, StoreError> {
        let key = self.data_key(tenant).await?;
        let (tenant, kind, object_id) = (tenant.to_string(), kind.to_owned(), object_id.to_owned());
        tokio::task::spawn_blocking(move || {
            work(
                &key,
                &ObjectBinding {
                    tenant: &tenant,
                    kind: &kind,
                    object_id: &object_id,
                },
            )
        })
        .await
        .map_err(|e| StoreError::keys("sealing or opening off-thread failed", cause(e)))
    }

    /// Seal `plaintext` for the tenant's object and store it. The caller
    /// records the returned reference in its transaction, and calls
    /// [`Self::discard`] if that transaction fails.
    pub async fn seal_and_put(
        &self,
        tenant: TenantId,
        kind: &str,
        object_id: &str,
        plaintext: Vec<u8>,
    ) -> Result<BlobRef, StoreError> {
        let sealed = self
            .with_key(tenant, kind, object_id, move |key, binding| {
                key.seal(binding, plaintext)
            })
            .await?
            .map_err(keys)?;
        let name = Self::blob_name(tenant, kind, object_id);
        let sealed_size = sealed.len() as i64;
        self.blobs.put(&name, sealed).await?;
        Ok(BlobRef { name, sealed_size })
    }

    /// Seal a small value kept in a database row (a thread's subject, a
    /// message body, a file name), bound like a blob to tenant, kind and
    /// object. Sealed on the calling thread: at most some tens of
    /// kilobytes, microseconds of work.
    pub async fn seal_value(
        &self,
        tenant: TenantId,
        kind: &str,
        object_id: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let key = self.data_key(tenant).await?;
        let tenant = tenant.to_string();
        let binding = ObjectBinding {
            tenant: &tenant,
            kind,
            object_id,
        };
        key.seal(&binding, plaintext.to_vec()).map_err(keys)
    }

    /// Open a value sealed by [`Self::seal_value`] for exactly this object.
    pub async fn open_value(
        &self,
        tenant: TenantId,
        kind: &str,
        object_id: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let key = self.data_key(tenant).await?;
        let tenant_text = tenant.to_string();
        let binding = ObjectBinding {
            tenant: &tenant_text,
            kind,
            object_id,
        };
        key.open(&binding, sealed)
            .map_err(|e| StoreError::Corrupt(format!("{kind} {object_id}: {e}")))
    }

    /// Seal a login subject's credential secret (a TOTP seed) under a data
    /// key of its own, wrapped under the current master key and bound to
    /// the subject: subjects such as operators and patient accounts belong
    /// to no tenant, so no tenant key fits. The ciphertext opens only for
    /// this subject, kind and object.
    pub fn seal_credential(
        &self,
        subject_id: &str,
        kind: &str,
        object_id: &str,
        plaintext: &[u8],
    ) -> Result<SealedCredential, StoreError> {
        let key = DataKey::generate().map_err(keys)?;
        let owner = credential_owner(subject_id);
        let wrapped = key
            .wrap(self.keyring(false)?.current(), &owner)
            .map_err(keys)?;
        let binding = ObjectBinding {
            tenant: &owner,
            kind,
            object_id,
        };
        Ok(SealedCredential {
            master_key_id: wrapped.master_key.to_hex(),
            wrapped_key: wrapped.sealed,
            sealed: key.seal(&binding, plaintext.to_vec()).map_err(keys)?,
        })
    }

    /// Open what [`Self::seal_credential`] sealed for exactly this object.
    pub fn open_credential(
        &self,
        subject_id: &str,
        kind: &str,
        object_id: &str,
        stored: &SealedCredential,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
        let owner = credential_owner(subject_id);
        let wrapped = WrappedDataKey {
            master_key: MasterKeyId::from_hex(&stored.master_key_id).map_err(keys)?,
            sealed: stored.wrapped_key.clone(),
        };
        let key = match DataKey::unwrap(&*self.keyring(false)?, &owner, &wrapped) {
            Err(CryptoError::UnknownMasterKey(_)) => {
                DataKey::unwrap(&*self.keyring(true)?, &owner, &wrapped).map_err(keys)?
            }
            other => other.map_err(keys)?,
        };
        let binding = ObjectBinding {
            tenant: &owner,
            kind,
            object_id,
        };
        key.open(&binding, &stored.sealed)
            .map(zeroize::Zeroizing::new)
            .map_err(|e| StoreError::Corrupt(format!("{kind} {object_id}: {e}")))
    }

    /// Record a stored blob in the caller's transaction.
    pub(crate) async fn record(
        conn: &mut AnyConnection,
        blob: &BlobRef,
        tenant: TenantId,
        kind: &str,
        object_id: &str,
    ) -> Result<(), StoreError> {
        Self::record_all(conn, kind, &[(blob, tenant, object_id.to_owned())]).await
    }

    /// [`Self::record`] for several blobs of one kind in one statement
    /// per chunk: (blob, tenant, object ID).
    pub(crate) async fn record_all(
        conn: &mut AnyConnection,
        kind: &str,
        blobs: &[(&BlobRef, TenantId, String)],
    ) -> Result<(), StoreError> {
        let now = now_millis();
        for chunk in blobs.chunks(BLOBS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO blobs (name, tenant_id, kind, object_id, sealed_size, created_at) VALUES {}",
                crate::sql::placeholders("(?, ?, ?, ?, ?, ?)", chunk.len())
            );
            let mut query = sqlx::query(crate::sql::for_connection(conn, sql));
            for (blob, tenant, object_id) in chunk {
                query = query
                    .bind(&blob.name)
                    .bind(tenant.to_string())
                    .bind(kind)
                    .bind(object_id)
                    .bind(blob.sealed_size)
                    .bind(now);
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Remove a blob whose transaction failed (best effort: what is left is
    /// an orphan the sweeper reports).
    pub async fn discard(&self, blob: &BlobRef) {
        if let Err(e) = self.blobs.delete(&blob.name).await {
            tracing::warn!(error = %e, blob = %blob.name, "could not remove the blob of a failed write");
        }
    }

    /// Read and open the tenant's object. The row in `blobs` names it; the
    /// binding checks that the ciphertext belongs to exactly this object.
    pub async fn get_and_open(
        &self,
        tenant: TenantId,
        kind: &str,
        object_id: &str,
    ) -> Result<Vec<u8>, StoreError> {
        let row = sqlx::query(
            "SELECT name FROM blobs WHERE tenant_id = $1 AND kind = $2 AND object_id = $3",
        )
        .bind(tenant.to_string())
        .bind(kind)
        .bind(object_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("no blob for {kind} {object_id}")))?;
        let name: String = row.try_get("name")?;
        let sealed = self.blobs.get(&name).await?;
        self.with_key(tenant, kind, object_id, move |key, binding| {
            key.open(binding, &sealed)
        })
        .await?
        .map_err(|e| StoreError::Corrupt(format!("{kind} {object_id}: {e}")))
    }

    /// Re-wrap every data key not yet under the current master key.
    /// Returns how many were re-wrapped. Data keys themselves do not
    /// change, so blobs are untouched and running servers are unaffected.
    pub async fn rewrap_all(&self) -> Result<u64, StoreError> {
        let ring = self.keyring(true)?;
        let current = ring.current().id().to_hex();
        let rows = sqlx::query(
            "SELECT tenant_id, master_key_id, wrapped FROM tenant_keys \
             WHERE wrapped IS NOT NULL AND master_key_id <> $1",
        )
        .bind(&current)
        .fetch_all(&self.pool)
        .await?;
        let mut rewrapped = 0;
        for row in rows {
            let tenant_text: String = row.try_get("tenant_id")?;
            let old: String = row.try_get("master_key_id")?;
            let wrapped = WrappedDataKey {
                master_key: MasterKeyId::from_hex(&old).map_err(keys)?,
                sealed: row.try_get("wrapped")?,
            };
            let key = DataKey::unwrap(&ring, &tenant_text, &wrapped).map_err(keys)?;
            let new = key.wrap(ring.current(), &tenant_text).map_err(keys)?;
            // Only if nobody changed the row meanwhile (another rotation,
            // or crypto-shredding).
            let done = sqlx::query(
                "UPDATE tenant_keys SET master_key_id = $1, wrapped = $2, rewrapped_at = $3 \
                 WHERE tenant_id = $4 AND master_key_id = $5 AND wrapped IS NOT NULL",
            )
            .bind(&current)
            .bind(&new.sealed)
            .bind(now_millis())
            .bind(&tenant_text)
            .bind(&old)
            .execute(&self.pool)
            .await?;
            rewrapped += done.rows_affected();
        }
        Ok(rewrapped)
    }

    /// How many live data keys each master key wraps.
    pub async fn key_usage(&self) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query(
            "SELECT master_key_id, COUNT(*) AS n FROM tenant_keys WHERE wrapped IS NOT NULL \
             GROUP BY master_key_id ORDER BY master_key_id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("master_key_id")?, r.try_get("n")?)))
        .collect()
    }

    /// Crypto-shredding, inside the caller's transaction: the wrapped key
    /// is overwritten, so no keyring can open the tenant's blobs again.
    pub(crate) async fn destroy_in(
        &self,
        conn: &mut AnyConnection,
        tenant: TenantId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tenant_keys (tenant_id, master_key_id, wrapped, created_at, destroyed_at) \
             VALUES ($1, NULL, NULL, $2, $2) \
             ON CONFLICT (tenant_id) DO UPDATE SET master_key_id = NULL, wrapped = NULL, destroyed_at = $2",
        )
        .bind(tenant.to_string())
        .bind(now_millis())
        .execute(conn)
        .await?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(&tenant);
        }
        Ok(())
    }

    /// Names of the blobs the database refers to.
    pub async fn recorded_blobs(&self) -> Result<std::collections::BTreeSet<String>, StoreError> {
        sqlx::query("SELECT name FROM blobs")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok(r.try_get("name")?))
            .collect()
    }

    /// Blobs in the store that no row refers to (a crash between writing a
    /// blob and committing its row), older than `grace_ms` so that uploads
    /// in progress are not counted; and rows whose blob is missing.
    pub async fn sweep(&self, grace_ms: i64) -> Result<SweepReport, StoreError> {
        let stored = self.blobs.list().await?;
        let recorded = self.recorded_blobs().await?;
        let cutoff = now_millis() - grace_ms;
        let present: std::collections::BTreeSet<&str> =
            stored.iter().map(|(name, _)| name.as_str()).collect();
        Ok(SweepReport {
            stored: stored.len() as u64,
            orphans: stored
                .iter()
                .filter(|(name, modified)| !recorded.contains(name) && *modified < cutoff)
                .map(|(name, _)| name.clone())
                .collect(),
            missing: recorded
                .iter()
                .filter(|name| !present.contains(name.as_str()))
                .cloned()
                .collect(),
        })
    }

    /// Move PDFs stored in the database by earlier versions into sealed
    /// blobs. Returns how many were moved.
    pub async fn seal_legacy_pdfs(&self) -> Result<u64, StoreError> {
        let rows = sqlx::query("SELECT finding_id, tenant_id FROM finding_pdfs")
            .fetch_all(&self.pool)
            .await?;
        let mut moved = 0;
        for row in rows {
            let finding: String = row.try_get("finding_id")?;
            let tenant: TenantId = crate::rows::parse(&row, "tenant_id")?;
            let bytes: Vec<u8> =
                sqlx::query("SELECT bytes FROM finding_pdfs WHERE finding_id = $1")
                    .bind(&finding)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("bytes")?;
            let blob = self
                .seal_and_put(tenant, "finding_pdf", &finding, bytes)
                .await?;
            let mut tx = self.pool.begin().await?;
            let written = async {
                Self::record(&mut tx, &blob, tenant, "finding_pdf", &finding).await?;
                sqlx::query("DELETE FROM finding_pdfs WHERE finding_id = $1")
                    .bind(&finding)
                    .execute(&mut *tx)
                    .await?;
                Ok::<_, StoreError>(())
            }
            .await;
            match written {
                Ok(()) => tx.commit().await?,
                Err(e) => {
                    drop(tx);
                    self.discard(&blob).await;
                    return Err(e);
                }
            }
            moved += 1;
        }
        if moved > 0 && crate::sql::Backend::of_pool(&self.pool) == crate::sql::Backend::Sqlite {
            // Rewrite the file so the plaintext leaves its free pages.
            sqlx::query("VACUUM").execute(&self.pool).await?;
        }
        Ok(moved)
    }
}

/// What `hippo blobs sweep` found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    pub stored: u64,
    /// In the store, referred to by no row.
    pub orphans: Vec<String>,
    /// Referred to by a row, absent from the store.
    pub missing: Vec<String>,
}
