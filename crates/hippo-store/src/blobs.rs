//! Blob storage through the `object_store` crate: the local filesystem by
//! default (`<data_dir>/blobs`), S3-compatible storage by configuration.
//! Blobs are only ever sealed ciphertext (see `vault`); object names carry
//! IDs only, never names or content.
//!
//! Writes are atomic on both backends (the local store writes a temporary
//! file and renames it; an S3 PUT appears whole or not at all). A blob is
//! written before the database row that refers to it and deleted again if
//! that transaction fails; a crash in between leaves an orphan, which
//! `orphans` finds.

use crate::secrets::BlobOptions;
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::{StoreError, cause};

#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// Where the blobs are, for messages and backups (no credentials).
    pub location: String,
    /// The local directory, when the store is the local filesystem.
    pub local_dir: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobStore({})", self.location)
    }
}

/// A blob that is not there is a defect (its row says it is); anything
/// else (store unreachable, disk full, permissions) ends with the fault.
fn unavailable(e: object_store::Error) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => StoreError::blob("blob missing", cause(e)),
        other => StoreError::BlobUnavailable(cause(other)),
    }
}

/// Retries and timeouts of the S3 client: a request waits seconds, not
/// the client's default of up to three minutes of retries, for a store
/// that is down; then it is answered 503 (invariant 11).
const S3_ATTEMPTS_WITHIN: std::time::Duration = std::time::Duration::from_secs(8);

fn s3(url: &str, options: &BlobOptions) -> Result<object_store::aws::AmazonS3, StoreError> {
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
    let parsed =
        url::Url::parse(url).map_err(|e| StoreError::blob("invalid blob URL", cause(e)))?;
    if !parsed.path().trim_matches('/').is_empty() {
        return Err(StoreError::blob(
            "use a bucket of its own for Hippo's blobs (no path prefix)",
            None,
        ));
    }
    let bucket = parsed
        .host_str()
        .ok_or_else(|| StoreError::blob("blob URL names no bucket", None))?;
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_retry(object_store::RetryConfig {
            backoff: object_store::BackoffConfig::default(),
            max_retries: 3,
            retry_timeout: S3_ATTEMPTS_WITHIN,
        })
        .with_client_options(
            object_store::ClientOptions::new()
                .with_connect_timeout(std::time::Duration::from_secs(2))
                .with_timeout(std::time::Duration::from_secs(30)),
        );
    for (key, value) in options.exposed() {
        let key: AmazonS3ConfigKey = key
            .parse()
            .map_err(|e| StoreError::blob(format!("blob option {key}"), cause(e)))?;
        builder = builder.with_config(key, value);
    }
    builder
        .build()
        .map_err(|e| StoreError::blob("cannot build the S3 client", cause(e)))
}

impl BlobStore {
    /// `url`: `None` for `<data_dir>/blobs`, `file:///dir`, or
    /// `s3://bucket` with `options` such as `aws_endpoint`,
    /// `aws_allow_http`, `aws_region`, `aws_access_key_id` (the CLI takes
    /// them from the usual `AWS_*` environment variables).
    pub fn open(
        url: Option<&str>,
        options: &BlobOptions,
        data_dir: &std::path::Path,
    ) -> Result<Self, StoreError> {
        match url {
            None => Self::local(&data_dir.join("blobs")),
            Some(url) if url.starts_with("file://") => {
                Self::local(std::path::Path::new(url.trim_start_matches("file://")))
            }
            Some(url) if url.starts_with("s3://") => Ok(Self {
                store: Arc::new(s3(url, options)?),
                location: url.to_owned(),
                local_dir: None,
            }),
            Some(other) => Err(StoreError::blob(
                format!("unsupported blob URL {other:?}: use file:///dir or s3://bucket"),
                None,
            )),
        }
    }

    fn local(dir: &std::path::Path) -> Result<Self, StoreError> {
        crate::private_files::dir(dir)
            .map_err(|e| StoreError::blob(format!("cannot create {}", dir.display()), cause(e)))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(unavailable)?
            .with_automatic_cleanup(true)
            // A blob must be on disk before the row that refers to it
            // commits (SQLite commits with synchronous=FULL); without fsync
            // a power cut could leave a finding whose PDF is gone.
            .with_fsync(true);
        Ok(Self {
            store: Arc::new(store),
            location: format!("file://{}", dir.display()),
            local_dir: Some(dir.to_path_buf()),
        })
    }

    pub async fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.store
            .put(&ObjectPath::from(name), PutPayload::from(bytes))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub async fn get(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let result = self
            .store
            .get(&ObjectPath::from(name))
            .await
            .map_err(unavailable)?;
        Ok(result.bytes().await.map_err(unavailable)?.to_vec())
    }

    /// Delete; a blob that is already gone is not an error.
    pub async fn delete(&self, name: &str) -> Result<(), StoreError> {
        match self.store.delete(&ObjectPath::from(name)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Every blob's name and last modification time.
    pub async fn list(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.store
            .list(None)
            .map_ok(|meta| {
                (
                    meta.location.to_string(),
                    meta.last_modified.timestamp_millis(),
                )
            })
            .try_collect()
            .await
            .map_err(unavailable)
    }
}
