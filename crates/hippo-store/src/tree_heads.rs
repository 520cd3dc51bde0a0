//! Reading the log's leaves and keeping its signed tree heads.

use hippo_audit::{Hash, SignedTreeHead, TreeHead};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::audit::AuditLog;
use crate::error::StoreError;

fn hash(row: &SqliteRow, column: &str) -> Result<Hash, StoreError> {
    let bytes: Vec<u8> = row.try_get(column)?;
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{column} is not 32 bytes")))
}

fn head(row: &SqliteRow) -> Result<SignedTreeHead, StoreError> {
    let signature: Vec<u8> = row.try_get("signature")?;
    Ok(SignedTreeHead {
        head: TreeHead {
            size: row.try_get::<i64, _>("size")? as u64,
            root: hash(row, "root")?,
            issued_at: row.try_get("issued_at")?,
        },
        signature: signature
            .try_into()
            .map_err(|_| StoreError::Corrupt("signature is not 64 bytes".into()))?,
    })
}

impl AuditLog {
    /// Number of records in the log.
    pub async fn size(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM audit_records")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(n as u64)
    }

    /// Leaf hashes of records `first..=last` (1-based positions), in order.
    pub async fn leaf_hashes(&self, first: u64, last: u64) -> Result<Vec<Hash>, StoreError> {
        sqlx::query("SELECT leaf_hash FROM audit_records WHERE seq BETWEEN ? AND ? ORDER BY seq")
            .bind(first as i64)
            .bind(last as i64)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| hash(r, "leaf_hash"))
            .collect()
    }

    pub async fn latest_head(&self) -> Result<Option<SignedTreeHead>, StoreError> {
        sqlx::query("SELECT * FROM tree_heads ORDER BY size DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(head)
            .transpose()
    }

    /// All signed heads, oldest first.
    pub async fn heads(&self) -> Result<Vec<SignedTreeHead>, StoreError> {
        sqlx::query("SELECT * FROM tree_heads ORDER BY size")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(head)
            .collect()
    }

    pub async fn store_head(
        &self,
        signed: &SignedTreeHead,
        public_key: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT OR IGNORE INTO tree_heads (size, root, issued_at, signature, public_key) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(signed.head.size as i64)
        .bind(signed.head.root.as_slice())
        .bind(signed.head.issued_at)
        .bind(signed.signature.as_slice())
        .bind(public_key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The position of a record by its public ID.
    pub async fn position_of(&self, id: &str) -> Result<Option<u64>, StoreError> {
        Ok(sqlx::query("SELECT seq FROM audit_records WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get::<i64, _>("seq"))
            .transpose()?
            .map(|s| s as u64))
    }
}

/// Issues signed tree heads every `every_records` records or `every_ms`
/// milliseconds, whichever comes first, keeping the log's compact range in
/// memory so that each head costs O(new records), not O(log size).
pub struct HeadIssuer {
    log: AuditLog,
    key: std::sync::Arc<hippo_audit::AuditSigningKey>,
    range: hippo_audit::CompactRange,
    last_size: u64,
    last_at: i64,
    pub every_records: u64,
    pub every_ms: i64,
}

impl HeadIssuer {
    pub async fn new(
        log: AuditLog,
        key: std::sync::Arc<hippo_audit::AuditSigningKey>,
        every_records: u64,
        every_ms: i64,
    ) -> Result<Self, StoreError> {
        let latest = log.latest_head().await?;
        Ok(Self {
            log,
            key,
            range: hippo_audit::CompactRange::default(),
            last_size: latest.map_or(0, |h| h.head.size),
            last_at: latest.map_or(0, |h| h.head.issued_at),
            every_records,
            every_ms,
        })
    }

    /// Catch up with the log and issue a head if one is due (or `force`).
    pub async fn tick(&mut self, force: bool) -> Result<Option<SignedTreeHead>, StoreError> {
        let size = self.log.size().await?;
        if size > self.range.size() {
            for leaf in self.log.leaf_hashes(self.range.size() + 1, size).await? {
                self.range.push(leaf);
            }
        }
        let now = hippo_core::time_util::now_millis();
        let grown = self.range.size().saturating_sub(self.last_size);
        let due = grown >= self.every_records || (grown > 0 && now - self.last_at >= self.every_ms);
        if !(due || (force && grown > 0)) {
            return Ok(None);
        }
        let signed = self.key.sign(TreeHead {
            size: self.range.size(),
            root: self.range.root(),
            issued_at: now,
        });
        self.log.store_head(&signed, &self.key.public_hex()).await?;
        self.last_size = signed.head.size;
        self.last_at = now;
        Ok(Some(signed))
    }
}

/// An inclusion proof of one record in the latest signed tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// 0-based leaf index (position - 1).
    pub leaf_index: u64,
    pub leaf_hash: Hash,
    pub audit_path: Vec<Hash>,
    pub head: SignedTreeHead,
}

impl AuditLog {
    /// Prove that the record with public ID `id` is in the latest signed
    /// head. `NotFound` if there is no such record; `Conflict` if it is
    /// newer than the latest head (a head follows within seconds).
    pub async fn inclusion_proof(&self, id: &str) -> Result<InclusionProof, StoreError> {
        let position = self.position_of(id).await?.ok_or(StoreError::NotFound)?;
        let head = self
            .latest_head()
            .await?
            .filter(|h| h.head.size >= position)
            .ok_or_else(|| {
                StoreError::Conflict(
                    "this record is not yet covered by a signed tree head; try again in a few seconds".into(),
                )
            })?;
        let leaves = self.leaf_hashes(1, head.head.size).await?;
        let index = (position - 1) as usize;
        let audit_path = hippo_audit::merkle::inclusion_proof(index, &leaves)
            .ok_or_else(|| StoreError::Corrupt("log shorter than its head".into()))?;
        Ok(InclusionProof {
            leaf_index: index as u64,
            leaf_hash: leaves[index],
            audit_path,
            head,
        })
    }
}
