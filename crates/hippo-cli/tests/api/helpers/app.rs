//! The real server on a random port against a fresh database, seeded
//! with the demo world; logins and sessions on it.

use super::*;

pub struct TestApp {
    pub url: String,
    pub dir: std::path::PathBuf,
    /// The server's store, for fast test setup (no HTTP, no argon2).
    pub store: Store,
    pub client: Client,
    pub world: DemoWorld,
    /// The server's database (SQLite or PostgreSQL), for checks.
    pub db: AnyPool,
    /// Its URL, for running the `hippo` binary on the same database.
    pub database_url: Option<String>,
    /// The MLLP listener's address, when the configuration asked for one.
    pub mllp_addr: Option<std::net::SocketAddr>,
    _server: RunningServer,
    _dir: tempfile::TempDir,
}

/// The demo world on the suite's database with the default configuration.
pub async fn spawn_app() -> TestApp {
    test_app().spawn().await
}

/// The one way to start a test app: `test_app()`, then what differs from
/// the default (fences, database, blob store, configuration), then
/// `.spawn().await`.
pub fn test_app<'a>() -> TestAppBuilder<'a> {
    TestAppBuilder {
        database: TestDatabase::Suite,
        fences: Fences::default(),
        blob_url: None,
        blob_options: Vec::new(),
        configure: Box::new(|_| {}),
    }
}

/// Where a test app keeps its data.
enum TestDatabase {
    /// The suite's database: SQLite, or a fresh PostgreSQL database with
    /// `HIPPO_TEST_DATABASE=postgres`.
    Suite,
    /// SQLite, whatever the suite runs on (tests that tamper with the file).
    Sqlite,
    /// A database the test made.
    Url(String),
}

pub struct TestAppBuilder<'a> {
    database: TestDatabase,
    fences: Fences,
    blob_url: Option<String>,
    blob_options: Vec<(String, String)>,
    configure: Box<dyn FnOnce(&mut ServerConfig) + 'a>,
}

impl<'a> TestAppBuilder<'a> {
    pub fn fences(mut self, fences: Fences) -> Self {
        self.fences = fences;
        self
    }

    /// Tests that tamper with the SQLite file itself run on SQLite
    /// whatever the suite's database.
    pub fn on_sqlite(mut self) -> Self {
        self.database = TestDatabase::Sqlite;
        self
    }

    pub fn on_database(mut self, url: String) -> Self {
        self.database = TestDatabase::Url(url);
        self
    }

    /// The demo world served with its blobs in another store (e.g. S3).
    pub fn blob_store(mut self, url: &str, options: Vec<(String, String)>) -> Self {
        self.blob_url = Some(url.to_owned());
        self.blob_options = options;
        self
    }

    /// Change the server's configuration after the test defaults are set.
    pub fn configure(mut self, configure: impl FnOnce(&mut ServerConfig) + 'a) -> Self {
        self.configure = Box::new(configure);
        self
    }

    pub async fn spawn(self) -> TestApp {
        let database_url = match self.database {
            TestDatabase::Suite => test_database_url().await,
            TestDatabase::Sqlite => None,
            TestDatabase::Url(url) => Some(url),
        };
        spawn_on(
            database_url,
            self.fences,
            self.blob_url,
            self.blob_options,
            self.configure,
        )
        .await
    }
}

/// Which fence to switch off (test-only feature `fence-bypass`).
#[derive(Clone, Copy, Default)]
pub struct Fences {
    pub bypass_store_scoping: bool,
    pub bypass_policy: bool,
    /// Start without the demo world (tests that build their own).
    pub empty: bool,
    /// Incident drill: the patient PDF download skips the owner check.
    pub safeplay_drill: bool,
    /// Staff handles see every tenant's rows (PostgreSQL's row-level
    /// security off; no effect on SQLite, which has none).
    pub bypass_row_level_security: bool,
}

/// The database the suite runs on: with `HIPPO_TEST_DATABASE=postgres`, a
/// fresh PostgreSQL database per test on the server `HIPPO_TEST_POSTGRES`
/// names (an admin URL such as `postgres://hippo:hippo@127.0.0.1/postgres`);
/// otherwise a SQLite file in the test's directory (`None`).
pub async fn test_database_url() -> Option<String> {
    if !on_postgres() {
        return None;
    }
    assert!(
        std::env::var("HIPPO_TEST_POSTGRES").is_ok(),
        "HIPPO_TEST_DATABASE=postgres needs HIPPO_TEST_POSTGRES (an admin URL)"
    );
    Some(postgres_database().await)
}

/// A pool for checks that sees every tenant's rows (on PostgreSQL the
/// row-level security policies show a session without `hippo.tenant`
/// nothing).
pub async fn test_pool(url: &str) -> AnyPool {
    sqlx::any::AnyPoolOptions::new()
        .after_connect(|conn, _| {
            Box::pin(async move { hippo_store::sql::set_visible_tenant(conn, "*", false).await })
        })
        .connect(url)
        .await
        .unwrap()
}

/// Whether this run is on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("HIPPO_TEST_DATABASE").as_deref() == Ok("postgres")
}

/// A fresh PostgreSQL database on the server `HIPPO_TEST_POSTGRES` names,
/// whatever the suite's database (tests of PostgreSQL-only behaviour,
/// named `…postgresql…`). Without a server the test fails: see
/// [`prerequisite`].
pub async fn postgres_database() -> String {
    let admin = std::env::var("HIPPO_TEST_POSTGRES").unwrap_or_else(|e| {
        panic!(
            "this test needs a PostgreSQL server in HIPPO_TEST_POSTGRES ({e}); run `scripts/test`"
        )
    });
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(&admin).await.unwrap();
    let name = format!("hippo_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

async fn spawn_on(
    database_url: Option<String>,
    fences: Fences,
    blob_url: Option<String>,
    blob_options: Vec<(String, String)>,
    configure: Box<dyn FnOnce(&mut ServerConfig) + '_>,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    // The master keyring lives in a file, as in production (and where the
    // `hippo` binary looks for it when tests run it on this directory).
    let keyring = dir.path().join("keys/master.keyring");
    std::fs::create_dir_all(dir.path().join("keys")).unwrap();
    std::fs::write(
        &keyring,
        hippo_crypto::Keyring::generate()
            .unwrap()
            .to_text()
            .as_str(),
    )
    .unwrap();
    let store = Store::open(&StoreOptions {
        database_url: database_url.clone().map(hippo_store::DatabaseUrl::new),
        data_dir: dir.path().to_path_buf(),
        build: "test-build".into(),
        blob_url,
        blob_options: hippo_store::BlobOptions::new(blob_options),
        keys: Some(hippo_store::KeySource::File(keyring)),
    })
    .await
    .unwrap();
    let world = if fences.empty {
        DemoWorld {
            tenants: Vec::new(),
            users: Vec::new(),
            retrieval_codes: Vec::new(),
        }
    } else {
        hippo_cli::demo::seed(&store).await.unwrap()
    };
    let mut config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        // All test requests come from 127.0.0.1; the per-address budget is
        // exercised by its own test.
        login_attempts_per_client_per_minute: 10_000,
        // The access tests probe on purpose; probing detection has its own.
        not_found_limit: 10_000,
        // Passkey tests answer challenges as a browser at this origin.
        public_origin: Some(crate::passkeys::ORIGIN.into()),
        ..ServerConfig::default()
    };
    // Likewise the retrieval budget per address (its own test sets it).
    config.retrieval.attempts_per_client_per_minute = 100_000;
    config.bypass_policy_for_tests = fences.bypass_policy;
    // The audit key lives in a file, as in production; heads come quickly.
    let key = hippo_audit::AuditSigningKey::generate();
    std::fs::create_dir_all(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join("keys/audit-signing.key"), key.to_hex()).unwrap();
    config.audit_key = Some(std::sync::Arc::new(key));
    config.tree_head_every = std::time::Duration::from_millis(100);
    configure(&mut config);
    let store = if fences.bypass_store_scoping {
        store.bypass_scoping_for_tests()
    } else if fences.safeplay_drill {
        store.safeplay_drill_for_tests()
    } else {
        store
    };
    let store = if fences.bypass_row_level_security {
        store.bypass_row_level_security_for_tests()
    } else {
        store
    };
    let server = hippo_server::start(store.clone(), config).await.unwrap();
    let db_url = database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("hippo.db").display()));
    let db = test_pool(&db_url).await;
    TestApp {
        url: server.url(),
        dir: dir.path().to_path_buf(),
        store,
        client: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        world,
        db,
        database_url,
        mllp_addr: server.mllp_addr,
        _server: server,
        _dir: dir,
    }
}

/// A logged-in user: their API session token, their browser session
/// (made by the form on first use: `TestApp::web_token`) and, for checks,
/// their actor ID.
#[derive(Clone)]
pub struct Session {
    pub token: String,
    pub actor_id: String,
    pub user: DemoUser,
    pub web: std::sync::Arc<tokio::sync::OnceCell<String>>,
}

impl Session {
    /// A session known only by its API token; the browser one comes later.
    pub fn api(token: String, actor_id: String, user: DemoUser) -> Self {
        Self {
            token,
            actor_id,
            user,
            web: Default::default(),
        }
    }
}

impl TestApp {
    /// The `hippo` binary, pointed at this app's database (through the
    /// environment, so callers still pass `--data-dir`).
    pub fn command(&self) -> std::process::Command {
        hippo_command(self.database_url.as_deref())
    }

    /// Run the `hippo` binary on this app's data directory and database.
    pub fn hippo(&self, args: &[&str]) -> String {
        hippo_on(args, &self.dir, self.database_url.as_deref())
    }

    /// Make every audit append fail, like a full disk.
    pub async fn break_audit_log(&self) {
        let statements: &[&str] = if on_postgres() {
            &[
                "CREATE OR REPLACE FUNCTION hippo_test_disk_full() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'disk full'; END; $$",
                "CREATE TRIGGER audit_down BEFORE INSERT ON audit_records \
                 FOR EACH ROW EXECUTE FUNCTION hippo_test_disk_full()",
            ]
        } else {
            &[
                "CREATE TRIGGER audit_down BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'disk full'); END",
            ]
        };
        for statement in statements {
            sqlx::query(*statement).execute(&self.db).await.unwrap();
        }
    }

    pub async fn repair_audit_log(&self) {
        let statement = if on_postgres() {
            "DROP TRIGGER audit_down ON audit_records"
        } else {
            "DROP TRIGGER audit_down"
        };
        sqlx::query(statement).execute(&self.db).await.unwrap();
    }

    pub fn user(&self, email_prefix: &str) -> DemoUser {
        demo_user(&self.world, email_prefix)
    }

    pub async fn login_raw(&self, email: &str, password: &str) -> Response {
        self.client
            .post(format!("{}/api/v1/auth/login", self.url))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, email_prefix: &str) -> Session {
        let user = self.user(email_prefix);
        let response = self.login_raw(&user.email, &user.password).await;
        let token = finish_login(&self.client, &self.url, &user, response, Some(&self.db)).await;
        let actor_id = self.actor_id(&user.email).await;
        Session::api(token, actor_id, user)
    }

    pub async fn actor_id(&self, email: &str) -> String {
        sqlx::query(
            "SELECT id FROM staff_users WHERE email = $1 UNION ALL SELECT id FROM accounts WHERE email = $1 \
             UNION ALL SELECT id FROM operators WHERE email = $1",
        )
        .bind(email)
        .fetch_one(&self.db)
        .await
        .unwrap()
        .get("id")
    }

    pub async fn get(&self, path: &str, session: &Session) -> Response {
        self.client
            .get(format!("{}{path}", self.url))
            .bearer_auth(&session.token)
            .send()
            .await
            .unwrap()
    }

    /// GET expecting 200 with a JSON body.
    pub async fn get_json(&self, path: &str, session: &Session) -> Value {
        let response = self.get(path, session).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, session: &Session, body: &Value) -> Response {
        self.client
            .post(format!("{}{path}", self.url))
            .bearer_auth(&session.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_empty(&self, path: &str, session: &Session) -> Response {
        self.client
            .post(format!("{}{path}", self.url))
            .bearer_auth(&session.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn upload(
        &self,
        patient: &str,
        session: &Session,
        form: multipart::Form,
    ) -> Response {
        self.client
            .post(format!("{}/api/v1/patients/{patient}/findings", self.url))
            .bearer_auth(&session.token)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn web_get(&self, path: &str, session: &Session) -> Response {
        self.client
            .get(format!("{}{path}", self.url))
            .header("cookie", self.web_cookie(session).await)
            .send()
            .await
            .unwrap()
    }

    pub async fn web_post_form(
        &self,
        path: &str,
        session: &Session,
        fields: &[(&str, &str)],
    ) -> Response {
        self.client
            .post(format!("{}{path}", self.url))
            .header("cookie", self.web_cookie(session).await)
            .header("origin", &self.url)
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&self.db)
            .await
            .unwrap()
            .get(0)
    }

    /// Audit records by this actor that mention `needle` as resource or in
    /// the detail, with one of `outcomes`.
    pub async fn audit_count(&self, actor: &str, needle: &str, outcomes: &[&str]) -> i64 {
        let placeholders = outcomes
            .iter()
            .map(|o| format!("'{o}'"))
            .collect::<Vec<_>>()
            .join(",");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM audit_records WHERE actor_id = $1 \
             AND (resource_id = $2 OR detail LIKE '%' || $3 || '%') AND outcome IN ({placeholders})"
        )))
        .bind(actor)
        .bind(needle)
        .bind(needle)
        .fetch_one(&self.db)
        .await
        .unwrap()
        .get(0)
    }
}
