//! The places where SQLite and PostgreSQL differ, behind one pool type
//! (sqlx's `Any` driver). Statements are written once, with `$n`
//! placeholders, which both drivers accept.

use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Transaction};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    pub fn of_pool(pool: &AnyPool) -> Self {
        Self::of_url(pool.connect_options().database_url.as_str()).unwrap_or(Self::Sqlite)
    }

    pub fn of_connection(conn: &AnyConnection) -> Self {
        if conn.backend_name() == "PostgreSQL" {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }
}

/// SQL assembled at run time with `?` placeholders, numbered `$1`, `$2`, …
/// in order (`?N` stays `N`). Fragments come from constants in this crate,
/// never from input, which is what makes them safe to assemble.
pub(crate) fn numbered(sql: String) -> AssertSqlSafe<String> {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                if chars.peek().is_some_and(char::is_ascii_digit) {
                    out.push('$');
                } else {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                }
            }
            _ => out.push(c),
        }
    }
    AssertSqlSafe(out)
}

/// `row` repeated `count` times, comma-separated: the VALUES of a
/// multi-row insert.
pub(crate) fn placeholders(row: &str, count: usize) -> String {
    vec![row; count].join(", ")
}

/// A statement written with `?` placeholders, for this connection's
/// database: SQLite takes them as they are (it resolves a numbered
/// parameter's name by a linear search, which for a thousand of them took a
/// fifth of an audit append's time), PostgreSQL gets `$n`.
pub(crate) fn for_connection(conn: &AnyConnection, sql: String) -> AssertSqlSafe<String> {
    match Backend::of_connection(conn) {
        Backend::Sqlite => AssertSqlSafe(sql),
        Backend::Postgres => numbered(sql),
    }
}

/// A transaction that will write. SQLite takes its single write lock at
/// once (`BEGIN IMMEDIATE`), so that reads inside it — a uniqueness check,
/// the next log position — cannot be overtaken; PostgreSQL relies on row
/// locks, constraints and the audit sequencer's advisory lock.
pub(crate) async fn begin_write(
    pool: &AnyPool,
) -> Result<Transaction<'static, sqlx::Any>, sqlx::Error> {
    match Backend::of_pool(pool) {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => pool.begin().await,
    }
}

/// [`begin_write`] on a connection of its own (the audit writer's).
pub(crate) async fn begin_write_on(
    conn: &mut AnyConnection,
) -> Result<Transaction<'_, sqlx::Any>, sqlx::Error> {
    use sqlx::Connection;
    match Backend::of_connection(conn) {
        Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => conn.begin().await,
    }
}

/// Set which tenant's rows this PostgreSQL session (`local`: only the
/// current transaction) sees under row-level security; `*` is every
/// tenant. Nothing to do on SQLite, which has no row-level security.
pub async fn set_visible_tenant(
    conn: &mut AnyConnection,
    tenant: &str,
    local: bool,
) -> Result<(), sqlx::Error> {
    if Backend::of_connection(conn) == Backend::Postgres {
        sqlx::query("SELECT set_config('hippo.tenant', $1, $2)")
            .bind(tenant)
            .bind(local)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The connections staff handles use. On PostgreSQL a pool of its own
/// whose sessions see no tenant rows at all until a tenant is set (the
/// row-level security policies of migration 0004 compare every row's
/// `tenant_id` with the `hippo.tenant` setting): the third fence, under the
/// scoped SQL and the Cedar gate. Every other handle uses the main pool,
/// whose sessions are set to `*` (all tenants) when they connect. On SQLite
/// (no row-level security) this is the main pool.
#[derive(Clone)]
pub(crate) struct TenantPool {
    pool: AnyPool,
    backend: Backend,
}

impl TenantPool {
    pub(crate) fn new(pool: AnyPool) -> Self {
        Self {
            backend: Backend::of_pool(&pool),
            pool,
        }
    }

    /// Test-only: connections of the main pool, which see every tenant
    /// (shows that the row-level fence is what denies).
    #[cfg(feature = "fence-bypass")]
    pub(crate) fn unfenced(pool: AnyPool) -> Self {
        Self {
            pool,
            backend: Backend::Sqlite,
        }
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// A connection that sees `tenant`'s rows only (PostgreSQL). The
    /// setting lives for the session; every acquisition sets it again,
    /// and a failure to set it fails the request.
    pub(crate) async fn acquire_for(
        &self,
        tenant: &str,
    ) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            set_visible_tenant(&mut conn, tenant, false).await?;
        }
        Ok(conn)
    }

    /// A transaction that sees and writes `tenant`'s rows only.
    pub(crate) async fn begin_for(
        &self,
        tenant: &str,
        write: bool,
    ) -> Result<Transaction<'static, sqlx::Any>, sqlx::Error> {
        let mut tx = if write {
            begin_write(&self.pool).await?
        } else {
            self.pool.begin().await?
        };
        if self.backend == Backend::Postgres {
            set_visible_tenant(&mut tx, tenant, true).await?;
        }
        Ok(tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order_outside_quotes() {
        assert_eq!(
            numbered("a = ? AND b = '?' AND c IN (?, ?) AND d = ?1".into()).0,
            "a = $1 AND b = '?' AND c IN ($2, $3) AND d = $1"
        );
    }
}
