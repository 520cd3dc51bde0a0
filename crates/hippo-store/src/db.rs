//! Opening the database and handing out scoped handles.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use hippo_core::Principal;
use hippo_core::audit::{AuditActor, RequestOrigin};
use hippo_core::policy::{AccessGate, Action};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use crate::actor::Actor;
use crate::admission::Request;
use crate::audit::AuditLog;
use crate::auth::AuthStore;
use crate::blobs::BlobStore;
use crate::error::StoreError;
use crate::operator_scope::OperatorScope;
use crate::patient_scope::PatientScope;
use crate::provisioning::UnscopedProvisioning;
use crate::scoping::Scoping;
use crate::secrets::{BlobOptions, DatabaseUrl};
use crate::sql::{Backend, TenantPool};
use crate::staff_scope::StaffScope;
use crate::vault::{KeySource, Vault};

// Benchmark-only unscoped paths; a child of this module because it needs
// the pool, which nothing else outside `db` gets.
#[cfg(feature = "bench-baseline")]
#[path = "bench_support.rs"]
mod bench_support;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per pool. The audit writer has a connection of its own
/// outside every pool, so this bounds request concurrency in the database,
/// never the audit log's progress.
const POOL_CONNECTIONS: u32 = 8;
/// How long a pooled connection is used before it is replaced.
const CONNECTION_LIFETIME: std::time::Duration = std::time::Duration::from_secs(10);
/// sqlx's default lifetime, kept for network connections.
const POSTGRES_CONNECTION_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30 * 60);
/// The longest a request waits for a pooled connection before it is shed.
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What every pool shares: its size, the bounded wait for a connection,
/// and never reusing a connection left inside a transaction.
fn bounded_pool_options(backend: Backend) -> AnyPoolOptions {
    let sqlite = backend == Backend::Sqlite;
    AnyPoolOptions::new()
        .max_connections(POOL_CONNECTIONS)
        // A SQLite connection is a file handle that does not go stale;
        // pinging it on every acquire cost a worker-thread round trip per
        // statement. Network connections are still checked.
        .test_before_acquire(!sqlite)
        // SQLite opens a file it may not write read-only, silently; a
        // connection opened while the file was read-only (or the disk full)
        // stays so. Renewing connections bounds how long such a fault
        // outlives its cause, at the cost of a reopen now and then. Network
        // connections keep sqlx's default lifetime.
        .max_lifetime(if sqlite {
            Some(CONNECTION_LIFETIME)
        } else {
            Some(POSTGRES_CONNECTION_LIFETIME)
        })
        // A request never waits unboundedly for a connection: past this it
        // is answered 503 with Retry-After (invariant 11).
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_release(|conn, _| Box::pin(async move { outside_transaction(conn).await }))
}

/// Whether a connection handed back may be reused: never one that is
/// still inside a transaction. A COMMIT that fails with an I/O error (disk
/// full, file made read-only) is rolled back by SQLite itself, after which
/// sqlx's own ROLLBACK fails and its transaction count stays one too high;
/// reused, that connection would open the next "transaction" as a
/// savepoint of a transaction that no longer exists. Closed instead.
async fn outside_transaction(conn: &mut sqlx::AnyConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // A rollback queued by a dropped transaction runs before the ping.
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}

/// Which connection is being prepared: the page cache is sized by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectionRole {
    Pooled,
    AuditWriter,
}

/// Session settings of a SQLite connection, pooled (sqlx) or the audit
/// writer's (rusqlite, `audit_sqlite.rs`).
pub(crate) fn sqlite_pragmas(role: ConnectionRole) -> String {
    // FULL: a commit is on disk before we answer; audit durability
    // (invariant 5) depends on it. secure_delete: deleted and overwritten
    // content is zeroed, so a destroyed data key does not linger in free
    // space of the file. cache_size: the audit writer gets 32 MiB, since
    // the log's indexes are keyed by random IDs and appends touch pages
    // all over them; pooled connections 4 MiB each (they had 32 MiB too,
    // and nine such caches were most of the server's memory under load:
    // 468 MiB peak, now under 100).
    let cache = match role {
        ConnectionRole::Pooled => "PRAGMA cache_size = -4096;",
        ConnectionRole::AuditWriter => "PRAGMA cache_size = -32768;",
    };
    format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
         PRAGMA secure_delete = ON; {cache}"
    )
}

/// Session settings every connection gets, pooled or the audit writer's.
pub(crate) async fn prepare_connection(
    conn: &mut sqlx::AnyConnection,
    role: ConnectionRole,
) -> Result<(), sqlx::Error> {
    if Backend::of_connection(conn) == Backend::Sqlite {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sqlite_pragmas(role)))
            .execute(conn)
            .await?;
    } else {
        // The main pool's sessions see every tenant; staff
        // handles use the tenant pool below.
        crate::sql::set_visible_tenant(conn, "*", false).await?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path` or a plain path; `None` means `<data_dir>/hippo.db`.
    pub database_url: Option<DatabaseUrl>,
    pub data_dir: std::path::PathBuf,
    /// Recorded in every audit record.
    pub build: String,
    /// Blob store URL; `None` means `<data_dir>/blobs`.
    pub blob_url: Option<String>,
    /// Options of an `s3://` blob store (`aws_endpoint`, `aws_region`, …).
    pub blob_options: BlobOptions,
    /// Master keys for sealing and opening blobs; commands that never
    /// touch blob contents (audit, forensics) run without.
    pub keys: Option<KeySource>,
}

/// The database. Deliberately has no method that returns the pool.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    tenant_pool: TenantPool,
    audit: AuditLog,
    vault: Vault,
    scoping: Scoping,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Open (creating if needed) and migrate.
    pub async fn open(options: &StoreOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        // The SQLite file, or `None` on PostgreSQL.
        let file = match options.database_url.as_ref().map(DatabaseUrl::expose) {
            Some(url) => match Backend::of_url(url) {
                Some(Backend::Sqlite) => Some(PathBuf::from(
                    url.trim_start_matches("sqlite://")
                        .trim_start_matches("sqlite:")
                        .split('?')
                        .next()
                        .unwrap_or_default(),
                )),
                Some(Backend::Postgres) => None,
                None if url.contains("://") => {
                    return Err(StoreError::Corrupt(format!(
                        "unsupported database URL scheme in {}; use sqlite:// or postgres://",
                        url.split("://").next().unwrap_or_default()
                    )));
                }
                None => Some(PathBuf::from(url)),
            },
            None => {
                crate::private_files::dir(&options.data_dir)
                    .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
                Some(Path::new(&options.data_dir).join("hippo.db"))
            }
        };
        if let Some(file) = &file {
            crate::private_files::file(file)
                .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        }
        let url = match (
            &file,
            options.database_url.as_ref().map(DatabaseUrl::expose),
        ) {
            (Some(file), _) => {
                let absolute = std::path::absolute(file)
                    .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
                let encoded = url::Url::from_file_path(&absolute).map_err(|()| {
                    StoreError::Corrupt(format!("not a usable path: {}", file.display()))
                })?;
                format!("sqlite://{}?mode=rwc", encoded.path())
            }
            (None, Some(url)) => url.to_owned(),
            (None, None) => return Err(StoreError::Corrupt("no database".into())),
        };
        let pool = bounded_pool_options(Backend::of_url(&url).unwrap_or(Backend::Sqlite))
            .after_connect(|conn, _| {
                Box::pin(async move { prepare_connection(conn, ConnectionRole::Pooled).await })
            })
            .connect(&url)
            .await
            .map_err(|e| match e {
                // At start-up a pool that times out means the database did
                // not answer; say why, not "overloaded".
                sqlx::Error::PoolTimedOut => StoreError::Unavailable(e),
                other => other.into(),
            });
        let pool = match pool {
            Ok(pool) => pool,
            Err(StoreError::Unavailable(_)) => {
                use sqlx::Connection;
                // One direct attempt names the real cause (refused,
                // unknown host, authentication).
                let cause = sqlx::AnyConnection::connect(&url).await.err();
                return Err(StoreError::Unavailable(
                    cause.unwrap_or(sqlx::Error::PoolTimedOut),
                ));
            }
            Err(e) => return Err(e),
        };
        let tenant_pool = match Backend::of_pool(&pool) {
            Backend::Sqlite => {
                SQLITE_MIGRATOR.run(&pool).await?;
                TenantPool::new(pool.clone())
            }
            Backend::Postgres => {
                POSTGRES_MIGRATOR.run(&pool).await?;
                // Sessions without a tenant setting: row-level security
                // shows them nothing until a staff handle sets its tenant.
                TenantPool::new(
                    bounded_pool_options(Backend::Postgres)
                        .connect(&url)
                        .await?,
                )
            }
        };
        let path = file;
        let blobs = BlobStore::open(
            options.blob_url.as_deref(),
            &options.blob_options,
            &options.data_dir,
        )?;
        Ok(Self {
            audit: AuditLog::start(pool.clone(), options.build.clone(), path),
            vault: Vault::new(pool.clone(), blobs, options.keys.clone()),
            pool,
            tenant_pool,
            scoping: Scoping::Enforced,
        })
    }

    /// Test-only: scoped handles forget their tenant and subject filters,
    /// so tests can show that the policy alone still denies.
    #[cfg(feature = "fence-bypass")]
    pub fn bypass_scoping_for_tests(mut self) -> Self {
        self.scoping = Scoping::BypassedForTests;
        self
    }

    /// Test-only: staff handles use connections that see every tenant, so
    /// tests can show that PostgreSQL's row-level security is what denies.
    #[cfg(feature = "fence-bypass")]
    pub fn bypass_row_level_security_for_tests(mut self) -> Self {
        self.tenant_pool = TenantPool::unfenced(self.pool.clone());
        self
    }

    /// Test-only incident drill: the patient PDF download stops checking
    /// the owner (in the store and at the policy gate), like the 2021
    /// test-centre portal. Everything is still audited.
    #[cfg(feature = "fence-bypass")]
    pub fn safeplay_drill_for_tests(mut self) -> Self {
        self.scoping = Scoping::SafePlayDrill;
        self
    }

    /// A consistent copy of the database in one file (SQLite's `VACUUM
    /// INTO`: a read transaction, so the server keeps serving meanwhile).
    pub async fn backup_database_into(&self, file: &Path) -> Result<(), StoreError> {
        if Backend::of_pool(&self.pool) != Backend::Sqlite {
            return Err(StoreError::Corrupt(
                "`hippo backup` copies SQLite databases; back up PostgreSQL with pg_dump (see README)".into(),
            ));
        }
        let target = file
            .to_str()
            .ok_or_else(|| StoreError::Corrupt("backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sealed blobs and the keys that open them.
    pub fn unscoped_vault(&self) -> Vault {
        self.vault.clone()
    }

    /// Log-in credentials and sessions.
    pub fn unscoped_auth(&self) -> AuthStore {
        AuthStore::new(self.pool.clone())
    }

    /// Second factors and logins waiting for one.
    pub fn unscoped_second_factor(&self) -> crate::SecondFactorStore {
        crate::SecondFactorStore::new(self.pool.clone(), self.vault.clone())
    }

    /// Passkeys and their ceremonies in flight; every call names the subject.
    pub fn unscoped_passkeys(&self) -> crate::PasskeyStore {
        crate::PasskeyStore::new(self.pool.clone())
    }

    /// Append-only access to the audit log for events that touch no data
    /// (logins, role denials, rate limits).
    pub fn audit_log(&self) -> AuditLog {
        self.audit.clone()
    }

    fn request(
        &self,
        principal: &Principal,
        origin: RequestOrigin,
        gate: Arc<dyn AccessGate>,
        declared: Action,
    ) -> Request {
        Request {
            actor: Actor {
                audit: self.audit_log(),
                actor: AuditActor::of(principal),
                origin,
            },
            gate,
            declared,
            scoping: self.scoping,
        }
    }

    /// A handle for a staff member or lab system, for one request to a
    /// route that declared `declared`; `None` for other principals.
    pub fn staff_scope(
        &self,
        principal: &Principal,
        origin: RequestOrigin,
        gate: Arc<dyn AccessGate>,
        declared: Action,
    ) -> Option<StaffScope> {
        let request = self.request(principal, origin, gate, declared);
        StaffScope::new(
            self.tenant_pool.clone(),
            self.vault.clone(),
            principal,
            request,
        )
    }

    /// A handle for a patient account; `None` for any other principal.
    /// `switches` is what is off now: a patient's data of a tenant whose
    /// service is off is neither listed nor served.
    pub fn patient_scope(
        &self,
        principal: &Principal,
        origin: RequestOrigin,
        gate: Arc<dyn AccessGate>,
        declared: Action,
        switches: Arc<hippo_core::switches::SwitchBoard>,
    ) -> Option<PatientScope> {
        let request = self.request(principal, origin, gate, declared);
        PatientScope::new(
            self.pool.clone(),
            self.vault.clone(),
            principal,
            request,
            switches,
        )
    }

    /// A handle for an operator; `None` for any other principal.
    pub fn operator_scope(
        &self,
        principal: &Principal,
        origin: RequestOrigin,
        gate: Arc<dyn AccessGate>,
        declared: Action,
    ) -> Option<OperatorScope> {
        let request = self.request(principal, origin, gate, declared);
        OperatorScope::new(self.pool.clone(), principal, request)
    }

    /// The operators' unscoped view of the audit log (CLI forensics; the
    /// HTTP API reaches it only through `OperatorScope`).
    pub fn unscoped_forensics(&self) -> crate::forensics::UnscopedForensics {
        crate::forensics::UnscopedForensics::new(self.pool.clone())
    }

    /// Incident records (operator CLI).
    pub fn unscoped_incidents(&self) -> crate::incidents::UnscopedIncidents {
        crate::incidents::UnscopedIncidents::new(self.pool.clone(), self.audit_log())
    }

    /// The notification outbox: the sender task claims and marks rows of
    /// every tenant; operators count them (issue 11).
    pub fn unscoped_outbox(&self) -> crate::outbox::UnscopedOutbox {
        crate::outbox::UnscopedOutbox::new(self.pool.clone())
    }

    /// Service switches (the server's watcher, the operator scope, CLI).
    pub fn unscoped_switches(&self) -> crate::switches::UnscopedSwitches {
        crate::switches::UnscopedSwitches::new(self.pool.clone(), self.audit_log())
    }

    /// On PostgreSQL, a listener for switch changes; `None` on SQLite,
    /// where the watcher polls.
    pub async fn switch_notifications(
        &self,
    ) -> Result<Option<crate::switches::SwitchNotifications>, StoreError> {
        if Backend::of_pool(&self.pool) != Backend::Postgres {
            return Ok(None);
        }
        let url = self.pool.connect_options().database_url.to_string();
        crate::switches::SwitchNotifications::connect(&url)
            .await
            .map(Some)
    }

    /// Anomaly rules and alerts (server background task, CLI, operators).
    pub fn unscoped_anomalies(&self) -> crate::anomalies::UnscopedAnomalies {
        crate::anomalies::UnscopedAnomalies::new(self.pool.clone())
    }

    /// Turns retrieval codes and dates of birth into code holders and
    /// claims one-time PDF links (the public retrieval page and API).
    pub fn unscoped_retrieval(&self) -> crate::retrieval::UnscopedRetrievalDesk {
        crate::retrieval::UnscopedRetrievalDesk::new(self.pool.clone(), self.audit_log())
    }

    /// New staff members accept their invitations (anonymous, by token).
    pub fn unscoped_invitations(&self) -> crate::invitations::UnscopedInvitations {
        crate::invitations::UnscopedInvitations::new(self.pool.clone(), self.audit_log())
    }

    /// The handle of a code holder (after `unscoped_retrieval`) for one
    /// request to a route that declared `declared`.
    pub fn code_holder_scope(
        &self,
        holder: &hippo_core::retrieval::CodeHolder,
        origin: RequestOrigin,
        gate: Arc<dyn AccessGate>,
        declared: Action,
    ) -> crate::retrieval::CodeHolderScope {
        let request = Request {
            actor: crate::retrieval::CodeHolderScope::actor(holder, self.audit_log(), origin),
            gate,
            declared,
            scoping: self.scoping,
        };
        crate::retrieval::CodeHolderScope::new(
            self.tenant_pool.clone(),
            self.vault.clone(),
            holder,
            request,
        )
    }

    /// Unscoped writes for seeding tenants, staff and accounts. Not
    /// reachable from any HTTP handler.
    pub fn unscoped_provisioning(&self) -> UnscopedProvisioning {
        UnscopedProvisioning::new(self.pool.clone(), self.audit_log(), self.vault.clone())
    }

    pub async fn close(&self) {
        self.tenant_pool.close().await;
        self.pool.close().await;
    }
}
