//! The `hippo` binary: one-off commands and a served process.

use super::*;

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
