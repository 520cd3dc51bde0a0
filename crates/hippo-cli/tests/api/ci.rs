//! The PostgreSQL pass and the PostgreSQL-only tests need a server; this
//! test fails when the one named in `HIPPO_TEST_POSTGRES` is missing or
//! unreachable. `scripts/test` runs it whenever it has a server (always,
//! with `CI=true`, where a missing server stops the script first).

#[tokio::test]
async fn the_postgresql_server_named_for_the_suite_is_reachable() {
    let url = std::env::var("HIPPO_TEST_POSTGRES")
        .expect("HIPPO_TEST_POSTGRES must name the PostgreSQL server (scripts/test starts one)");
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url)
        .await
        .expect("the PostgreSQL server must be reachable");
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(one, 1);
}
