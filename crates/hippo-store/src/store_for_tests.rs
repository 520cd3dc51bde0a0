//! For the store's unit tests: a SQLite store in a temporary directory,
//! and the query plan SQLite chooses for a statement (the plan tests keep
//! the large-tenant reads on their indexes).
#![allow(clippy::expect_used)]

use sqlx::Row;

/// A fresh SQLite store; keep the directory alive as long as the store.
pub(crate) async fn sqlite_store() -> (tempfile::TempDir, crate::Store) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = crate::Store::open(&crate::StoreOptions {
        database_url: None,
        data_dir: dir.path().to_path_buf(),
        build: "test".into(),
        blob_url: None,
        blob_options: Default::default(),
        keys: None,
    })
    .await
    .expect("store");
    (dir, store)
}

/// The steps of SQLite's plan for `sql`, its parameters bound by `bind`.
pub(crate) async fn query_plan<'q>(
    store: &crate::Store,
    sql: &str,
    bind: impl FnOnce(
        sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
) -> Vec<String> {
    let sql = format!("EXPLAIN QUERY PLAN {sql}");
    bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .fetch_all(&store.pool)
        .await
        .expect("plan")
        .iter()
        .map(|row| row.try_get("detail").expect("detail"))
        .collect()
}
