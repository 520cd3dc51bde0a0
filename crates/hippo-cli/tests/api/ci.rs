//! CI runs the whole suite a second time on PostgreSQL. This test makes a
//! missing or unreachable server a failure there, never a silent skip.

#[tokio::test]
async fn ci_provides_a_reachable_postgresql_server() {
    if std::env::var("CI").as_deref() != Ok("true") {
        // Developers may run the suite on SQLite alone.
        return;
    }
    let url = std::env::var("HIPPO_TEST_POSTGRES").expect(
        "CI=true: HIPPO_TEST_POSTGRES must name the PostgreSQL server (.ci/run starts one)",
    );
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url)
        .await
        .expect("CI=true: the PostgreSQL server must be reachable");
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(one, 1);
}
