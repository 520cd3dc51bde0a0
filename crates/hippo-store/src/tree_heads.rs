//! Reading the log's leaves and keeping its signed tree heads.

use hippo_audit::merkle::{self, TILE_HEIGHT, TILE_SIZE};
use hippo_audit::{CompactRange, Hash, SignedTreeHead, TreeHead};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::audit::AuditLog;
use crate::error::StoreError;

fn hash(row: &AnyRow, column: &str) -> Result<Hash, StoreError> {
    let bytes: Vec<u8> = row.try_get(column)?;
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{column} is not 32 bytes")))
}

/// Leaf hashes of a range of positions (for rusqlite and sqlx alike).
const LEAVES: &str = "SELECT leaf_hash FROM audit_records WHERE seq BETWEEN $1 AND $2 ORDER BY seq";

fn read_leaf_hashes(
    path: &std::path::Path,
    first: u64,
    last: u64,
) -> Result<Vec<Hash>, StoreError> {
    use rusqlite::OpenFlags;
    let corrupt = |e: rusqlite::Error| StoreError::Corrupt(format!("reading leaf hashes: {e}"));
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(corrupt)?;
    let mut statement = conn.prepare(LEAVES).map_err(corrupt)?;
    let mut rows = statement
        .query([first as i64, last as i64])
        .map_err(corrupt)?;
    let mut leaves = Vec::with_capacity((last + 1).saturating_sub(first) as usize);
    while let Some(row) = rows.next().map_err(corrupt)? {
        let bytes = row
            .get_ref(0)
            .map_err(corrupt)?
            .as_bytes()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        leaves.push(
            bytes
                .try_into()
                .map_err(|_| StoreError::Corrupt("leaf_hash is not 32 bytes".into()))?,
        );
    }
    Ok(leaves)
}

fn head(row: &AnyRow) -> Result<SignedTreeHead, StoreError> {
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
    /// Read on a plain SQLite cursor on a blocking thread: sqlx hands each
    /// row across threads, ~10x slower for this one-column scan.
    pub async fn leaf_hashes(&self, first: u64, last: u64) -> Result<Vec<Hash>, StoreError> {
        let Some(path) = self.path.clone() else {
            return sqlx::query(LEAVES)
                .bind(first as i64)
                .bind(last as i64)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| hash(r, "leaf_hash"))
                .collect();
        };
        tokio::task::spawn_blocking(move || read_leaf_hashes(&path, first, last))
            .await
            .map_err(|e| StoreError::Corrupt(format!("leaf reader failed: {e}")))?
    }

    /// Stored tile roots `first..` (0-based tile indexes), in order, up to
    /// the first gap.
    pub async fn tiles(&self, first: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
        let rows = sqlx::query(
            "SELECT idx, root FROM tree_tiles WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(first as i64)
        .bind((first + count) as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut tiles = Vec::with_capacity(rows.len());
        for (expected, row) in (first..).zip(&rows) {
            if row.try_get::<i64, _>("idx")? as u64 != expected {
                break;
            }
            tiles.push(hash(row, "root")?);
        }
        Ok(tiles)
    }

    pub(crate) async fn store_tiles(&self, first: u64, roots: &[Hash]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (idx, root) in (first..).zip(roots) {
            sqlx::query(
                "INSERT INTO tree_tiles (idx, root) VALUES ($1, $2) \
                 ON CONFLICT (idx) DO UPDATE SET root = excluded.root",
            )
            .bind(idx as i64)
            .bind(root.as_slice())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Roots of the tiles of a tree of `size` leaves: stored roots of the
    /// complete tiles (computed from leaves and stored where missing),
    /// then the root of the partial last tile.
    async fn tile_roots(&self, size: u64) -> Result<Vec<Hash>, StoreError> {
        let tile = TILE_SIZE as u64;
        let complete = size / tile;
        let mut roots = self.tiles(0, complete).await?;
        if (roots.len() as u64) < complete {
            let from = roots.len() as u64;
            let leaves = self.leaf_hashes(from * tile + 1, complete * tile).await?;
            let computed: Vec<Hash> = leaves.chunks(TILE_SIZE).map(merkle::root).collect();
            self.store_tiles(from, &computed).await?;
            roots.extend(computed);
        }
        if !size.is_multiple_of(tile) {
            let leaves = self.leaf_hashes(complete * tile + 1, size).await?;
            roots.push(merkle::root(&leaves));
        }
        Ok(roots)
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
            "INSERT INTO tree_heads (size, root, issued_at, signature, public_key) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
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
        Ok(sqlx::query("SELECT seq FROM audit_records WHERE id = $1")
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
/// memory so that each head costs O(new records), not O(log size). On the
/// way it stores the root of every completed tile; a restart rebuilds the
/// range from those (n / 256 hashes) and the leaves of the last tile.
pub struct HeadIssuer {
    log: AuditLog,
    key: std::sync::Arc<hippo_audit::AuditSigningKey>,
    range: CompactRange,
    /// Leaves of the current, incomplete tile.
    tile: Vec<Hash>,
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
        let size = log.size().await?;
        let tile = TILE_SIZE as u64;
        let roots = log.tile_roots(size - size % tile).await?;
        let mut range = CompactRange::default();
        for root in roots {
            if !range.push_subtree(TILE_HEIGHT, root) {
                return Err(StoreError::Corrupt("tree tiles misaligned".into()));
            }
        }
        let mut issuer = Self {
            log,
            key,
            range,
            tile: Vec::with_capacity(TILE_SIZE),
            last_size: latest.map_or(0, |h| h.head.size),
            last_at: latest.map_or(0, |h| h.head.issued_at),
            every_records,
            every_ms,
        };
        issuer.catch_up(size).await?;
        if let Some(head) = latest
            && head.head.size == issuer.range.size()
            && head.head.root != issuer.range.root()
        {
            tracing::error!(
                size = head.head.size,
                "the log does not match its latest signed head; run `hippo audit verify`"
            );
        }
        Ok(issuer)
    }

    /// Push the leaves up to `size`, storing each tile as it completes.
    async fn catch_up(&mut self, size: u64) -> Result<(), StoreError> {
        if size <= self.range.size() {
            return Ok(());
        }
        let leaves = self.log.leaf_hashes(self.range.size() + 1, size).await?;
        let first_tile = self.range.size() / TILE_SIZE as u64;
        let mut completed = Vec::new();
        for leaf in leaves {
            self.range.push(leaf);
            self.tile.push(leaf);
            if self.tile.len() == TILE_SIZE {
                completed.push(merkle::root(&self.tile));
                self.tile.clear();
            }
        }
        if !completed.is_empty() {
            self.log.store_tiles(first_tile, &completed).await?;
        }
        Ok(())
    }

    /// Catch up with the log and issue a head if one is due (or `force`).
    pub async fn tick(&mut self, force: bool) -> Result<Option<SignedTreeHead>, StoreError> {
        let size = self.log.size().await?;
        self.catch_up(size).await?;
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
        // The leaves of the record's tile and the roots of all tiles:
        // O(256 + n / 256) hashes instead of all n leaves.
        let size = head.head.size;
        let index = position - 1;
        let tile = TILE_SIZE as u64;
        let tile_first = index - index % tile;
        let tile_leaves = self
            .leaf_hashes(tile_first + 1, (tile_first + tile).min(size))
            .await?;
        let roots = self.tile_roots(size).await?;
        let within = (index - tile_first) as usize;
        let leaf_hash = *tile_leaves
            .get(within)
            .ok_or_else(|| StoreError::Corrupt("log shorter than its head".into()))?;
        let audit_path = merkle::inclusion_proof_from_tiles(index as usize, &tile_leaves, &roots)
            .ok_or_else(|| StoreError::Corrupt("log shorter than its head".into()))?;
        Ok(InclusionProof {
            leaf_index: index,
            leaf_hash,
            audit_path,
            head,
        })
    }
}
