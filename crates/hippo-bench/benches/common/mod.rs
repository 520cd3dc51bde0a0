//! What the benches that go through the real server share: the demo world
//! served on a random loopback port, on a fresh SQLite directory or on a
//! fresh PostgreSQL database.

use std::sync::Arc;

use hippo_cli::demo::DemoWorld;
use hippo_server::{RunningServer, ServerConfig};
use hippo_store::{KeySource, Store, StoreOptions};

pub struct DemoServer {
    pub world: DemoWorld,
    pub url: String,
    // Held for the run; the server drops before its directory (fields
    // drop in order).
    _server: RunningServer,
    _dir: tempfile::TempDir,
}

/// The demo world, seeded and served with the default configuration.
#[allow(clippy::unwrap_used)]
pub async fn demo_server(database_url: Option<String>) -> DemoServer {
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("master.keyring");
    let key = hippo_crypto::Keyring::generate().unwrap().to_text();
    std::fs::write(&keyring, key.as_str()).unwrap();
    let store = Store::open(&StoreOptions {
        database_url: database_url.map(hippo_store::DatabaseUrl::new),
        data_dir: dir.path().to_path_buf(),
        build: "bench".into(),
        blob_url: None,
        blob_options: Default::default(),
        keys: Some(KeySource::File(keyring)),
    })
    .await
    .unwrap();
    let world = hippo_cli::demo::seed(&store).await.unwrap();
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        audit_key: Some(Arc::new(hippo_audit::AuditSigningKey::generate())),
        ..ServerConfig::default()
    };
    let server = hippo_server::start(store, config).await.unwrap();
    let url = server.url();
    DemoServer {
        world,
        url,
        _server: server,
        _dir: dir,
    }
}

/// A new database `{prefix}_{pid}` on the server `admin` names, and its
/// URL. Left behind after the run (drop it by hand).
#[allow(clippy::unwrap_used)]
pub async fn fresh_postgres_database(admin: &str, prefix: &str) -> String {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(admin).await.unwrap();
    let name = format!("{prefix}_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}
