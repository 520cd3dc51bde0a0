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
