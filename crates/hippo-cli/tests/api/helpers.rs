//! `spawn_app()` and typed helpers for talking to it.

use hippo_cli::demo::{DemoUser, DemoWorld};
use hippo_server::{RunningServer, ServerConfig};
use hippo_store::{Store, StoreOptions};
use reqwest::{Client, Response, StatusCode, multipart};
use serde_json::{Value, json};
use sqlx::{AnyPool, Row};

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
    _server: RunningServer,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
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

pub async fn spawn_app_with(configure: impl FnOnce(&mut ServerConfig)) -> TestApp {
    spawn_app_fenced(Fences::default(), configure).await
}

pub async fn spawn_app_fenced(
    fences: Fences,
    configure: impl FnOnce(&mut ServerConfig),
) -> TestApp {
    spawn(fences, None, Vec::new(), configure).await
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

/// Tests that tamper with the SQLite file itself run on SQLite whatever
/// the suite's database.
pub async fn spawn_app_on_sqlite() -> TestApp {
    spawn_on(None, Fences::default(), None, Vec::new(), |_| {}).await
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

pub async fn spawn_app_on(database_url: String, fences: Fences) -> TestApp {
    spawn_on(Some(database_url), fences, None, Vec::new(), |_| {}).await
}

/// The demo world served with its blobs in another store (e.g. S3).
pub async fn spawn_app_with_blob_store(url: &str, options: Vec<(String, String)>) -> TestApp {
    spawn(Fences::default(), Some(url.to_owned()), options, |_| {}).await
}

async fn spawn(
    fences: Fences,
    blob_url: Option<String>,
    blob_options: Vec<(String, String)>,
    configure: impl FnOnce(&mut ServerConfig),
) -> TestApp {
    let database_url = test_database_url().await;
    spawn_on(database_url, fences, blob_url, blob_options, configure).await
}

async fn spawn_on(
    database_url: Option<String>,
    fences: Fences,
    blob_url: Option<String>,
    blob_options: Vec<(String, String)>,
    configure: impl FnOnce(&mut ServerConfig),
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
        ..ServerConfig::default()
    };
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
        _server: server,
        _dir: dir,
    }
}

/// A logged-in user: their session token and, for checks, their actor ID.
#[derive(Clone)]
pub struct Session {
    pub token: String,
    pub actor_id: String,
    pub user: DemoUser,
}

impl Session {
    pub fn csrf(&self) -> String {
        hippo_server::auth::csrf::form_token(&self.token)
    }

    pub fn cookie(&self) -> String {
        format!("hippo_session={}", self.token)
    }
}

pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

pub fn finding_metadata() -> Value {
    json!({
        "title": "Kleines Blutbild",
        "observations": [
            {"code": "718-7", "display": "Hämoglobin", "value": 18.9, "unit": "g/dl",
             "reference_low": 12.0, "reference_high": 17.5},
            {"code": "94500-6", "display": "SARS-CoV-2 RNA", "value": "nicht nachweisbar"}
        ]
    })
}

pub fn upload_form(metadata: &Value, pdf: &[u8]) -> multipart::Form {
    multipart::Form::new()
        .text("metadata", metadata.to_string())
        .part(
            "pdf",
            multipart::Part::bytes(pdf.to_vec())
                .file_name("report.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        )
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
        assert_eq!(response.status(), StatusCode::OK, "login of {}", user.email);
        let body: Value = response.json().await.unwrap();
        let token = body["token"].as_str().unwrap().to_owned();
        let actor_id = self.actor_id(&user.email).await;
        Session {
            token,
            actor_id,
            user,
        }
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
            .header("cookie", session.cookie())
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
            .header("cookie", session.cookie())
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

pub const HIPPO: &str = env!("CARGO_BIN_EXE_hippo");

/// Run the `hippo` binary to completion; panics with its stderr if it fails.
pub fn hippo(args: &[&str], data_dir: &std::path::Path) -> String {
    hippo_on(args, data_dir, None)
}

/// The same, on the given database (the test app's `database_url`).
pub fn hippo_on(args: &[&str], data_dir: &std::path::Path, database_url: Option<&str>) -> String {
    let out = hippo_command(database_url)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hippo {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `hippo` binary on `database_url` if given (through the environment,
/// so callers still pass `--data-dir`).
pub fn hippo_command(database_url: Option<&str>) -> std::process::Command {
    let mut command = std::process::Command::new(HIPPO);
    if let Some(url) = database_url {
        command.env("HIPPO_DATABASE_URL", url);
    }
    command
}

/// Log in through the API of the server at `url`; the session token.
pub async fn login_at(client: &Client, url: &str, email: &str, password: &str) -> String {
    let response = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "login of {email}");
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// `hippo serve` as a child process on a random port; killed with SIGKILL
/// when dropped (or by `kill`).
pub struct ServeProcess {
    pub child: std::process::Child,
    pub url: String,
}

impl ServeProcess {
    pub fn start(data_dir: &std::path::Path, extra: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(HIPPO)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("HIPPO_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .last()
            .filter(|u| u.starts_with("http://"))
            .unwrap_or_else(|| panic!("hippo serve did not print its URL: {line:?}"))
            .to_owned();
        Self { child, url }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Every file under `dir`, recursively (none if it does not exist).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    if !dir.exists() {
        return Vec::new();
    }
    hippo_cli::storage_cli::files_under(dir).unwrap()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A free port on loopback (for servers the test starts itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A test that needs `what` fails when it is missing, never passes
/// without having run. Such tests carry their need in their name
/// (`postgresql`, `s3`, `as_root`): `cargo nextest run` skips them by
/// name (`.config/nextest.toml`), and `scripts/test` runs every one whose
/// service it could start.
pub fn prerequisite(available: Result<(), String>, what: &str) {
    if let Err(e) = available {
        panic!("this test needs {what}, which is not available here ({e}); run `scripts/test`");
    }
}

/// `moto_server` (PyPI `moto[server]`) on loopback: S3 for tests.
pub struct Moto {
    child: std::process::Child,
    pub port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Moto {
    /// `python3 -m moto.server` works wherever the package is installed,
    /// with or without its script on PATH; without it the test fails (see
    /// [`prerequisite`]).
    pub fn start(port: u16) -> Self {
        let started = std::process::Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())
            .and_then(|mut child| {
                std::thread::sleep(std::time::Duration::from_millis(300));
                match child.try_wait().map_err(|e| e.to_string())? {
                    // Exited at once: the module is not installed.
                    Some(status) => Err(format!("moto.server exited: {status}")),
                    None => Ok(child),
                }
            });
        let child = started.unwrap_or_else(|e| {
            panic!("this test needs moto_server (`pip install 'moto[server]'`): {e}; run `scripts/test`")
        });
        Self { child, port }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Wait for moto (up to a minute on a cold machine), then create the
    /// bucket (path-style).
    pub async fn create_bucket(&self, bucket: &str) {
        let client = Client::new();
        let mut created = false;
        for _ in 0..600 {
            if let Ok(r) = client
                .put(format!("{}/{bucket}", self.endpoint()))
                .send()
                .await
            {
                created = r.status().is_success();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(created, "could not create the bucket in moto");
    }

    /// Blob store options for this endpoint.
    pub fn options(&self) -> Vec<(String, String)> {
        let endpoint = self.endpoint();
        [
            ("aws_endpoint", endpoint.as_str()),
            ("aws_allow_http", "true"),
            ("aws_region", "us-east-1"),
            ("aws_access_key_id", "test"),
            ("aws_secret_access_key", "test"),
            ("aws_virtual_hosted_style_request", "false"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

/// A data directory with keys and the demo world, for the real binary
/// (`ServeProcess`) on SQLite there or on `database`.
pub async fn seeded_data_dir(dir: &std::path::Path, database: Option<&str>) -> DemoWorld {
    hippo_on(&["keys", "init"], dir, database);
    let store = Store::open(&StoreOptions {
        database_url: database.map(hippo_store::DatabaseUrl::new),
        data_dir: dir.to_path_buf(),
        build: "test-build".into(),
        blob_url: None,
        blob_options: Default::default(),
        keys: Some(hippo_store::KeySource::File(
            dir.join("keys/master.keyring"),
        )),
    })
    .await
    .unwrap();
    let world = hippo_cli::demo::seed(&store).await.unwrap();
    store.close().await;
    world
}

/// The demo user whose e-mail starts with `email_prefix`.
pub fn demo_user(world: &DemoWorld, email_prefix: &str) -> DemoUser {
    world
        .users
        .iter()
        .find(|u| u.email.starts_with(email_prefix))
        .cloned()
        .unwrap_or_else(|| panic!("no demo user {email_prefix}"))
}

/// Who a demo user is in the store, by e-mail prefix.
pub async fn login_subject(app: &TestApp, email_prefix: &str) -> hippo_store::LoginSubject {
    use hippo_store::LoginSubject;
    let email = app.user(email_prefix).email;
    let row = sqlx::query(
        "SELECT 'staff' AS k, id FROM staff_users WHERE email = $1 UNION ALL \
         SELECT 'account', id FROM accounts WHERE email = $1 UNION ALL \
         SELECT 'operator', id FROM operators WHERE email = $1",
    )
    .bind(&email)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let id: String = row.get("id");
    match row.get::<String, _>("k").as_str() {
        "staff" => LoginSubject::Staff(id.parse().unwrap()),
        "operator" => LoginSubject::Operator(id.parse().unwrap()),
        _ => LoginSubject::Account(id.parse().unwrap()),
    }
}

/// A principal acting through the audited scopes without HTTP (to seed
/// test data): each step gets the scope its route would, bound to that
/// route's action.
#[derive(Clone)]
pub struct ScopeActor {
    store: Store,
    principal: hippo_core::Principal,
    gate: std::sync::Arc<dyn hippo_core::policy::AccessGate>,
    origin: hippo_core::audit::RequestOrigin,
}

impl ScopeActor {
    pub async fn of(store: &Store, subject: hippo_store::LoginSubject, request_id: &str) -> Self {
        let principal = store
            .unscoped_auth()
            .principal(subject)
            .await
            .unwrap()
            .unwrap();
        Self::of_principal(store, principal, request_id)
    }

    pub fn of_principal(store: &Store, principal: hippo_core::Principal, request_id: &str) -> Self {
        let gate = std::sync::Arc::new(hippo_policy::Policy::load().unwrap()).gate(&principal);
        Self {
            store: store.clone(),
            principal,
            gate,
            origin: hippo_core::audit::RequestOrigin {
                request_id: request_id.into(),
                ..Default::default()
            },
        }
    }

    pub fn acting(&self, action: hippo_core::policy::Action) -> hippo_store::StaffScope {
        self.store
            .staff_scope(
                &self.principal,
                self.origin.clone(),
                self.gate.clone(),
                action,
            )
            .unwrap()
    }

    /// The same, for a patient account.
    pub fn acting_as_patient(
        &self,
        action: hippo_core::policy::Action,
    ) -> hippo_store::PatientScope {
        let origin = self.origin.clone();
        self.store
            .patient_scope(&self.principal, origin, self.gate.clone(), action)
            .unwrap()
    }
}
