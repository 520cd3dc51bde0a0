//! Debian's chromedriver on a free port driving a headless Chromium of
//! its own (fresh profile, one language), through fantoccini. Dropping
//! the [`Browser`] kills chromedriver's whole process group, Chromium
//! included, even when the test panicked half-way.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

use crate::helpers::free_port;

/// The language the browser asks for (`--lang` and Accept-Language).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrowserLanguage {
    German,
    English,
}

impl BrowserLanguage {
    fn locale(self) -> &'static str {
        match self {
            Self::German => "de-DE",
            Self::English => "en-US",
        }
    }

    fn accept_languages(self) -> &'static str {
        match self {
            Self::German => "de-DE,de",
            Self::English => "en-US,en",
        }
    }

    /// The tag the pages' `<html lang>` carries, and the catalog folder.
    pub fn tag(self) -> &'static str {
        match self {
            Self::German => "de",
            Self::English => "en",
        }
    }
}

/// A program the browser tests need: the environment variable names it,
/// otherwise the first `name` on PATH. Missing, the test fails (see
/// `helpers::prerequisite`); `scripts/test` skips the module by name
/// instead when the machine lacks it.
fn program(variable: &str, name: &str) -> PathBuf {
    if let Ok(path) = std::env::var(variable) {
        return PathBuf::from(path);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "this test needs {name} (Debian packages chromium and chromium-driver, or {variable}), \
             which is not on PATH; run `scripts/test`"
        )
    })
}

/// chromedriver's process group (chromedriver, Chromium and its helpers).
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    fn start() -> Self {
        use std::os::unix::process::CommandExt;
        let port = free_port();
        let child = Command::new(program("HIPPO_TEST_CHROMEDRIVER", "chromedriver"))
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            // Its own group, so that Drop can end Chromium with it.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("this test needs chromedriver: {e}; run `scripts/test`"));
        Self { child, port }
    }

    /// Up to 20 s for chromedriver to listen (a cold, busy machine).
    async fn wait_until_listening(&mut self) {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("chromedriver exited at start: {status}");
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "chromedriver did not listen on port {} within 20 s",
            self.port
        );
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The negative ID names the group: chromedriver and every Chromium
        // process it started (they stay in the group they were born in).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One headless Chromium with a fresh profile, driven over WebDriver.
pub struct Browser {
    pub client: Client,
    pub language: BrowserLanguage,
    /// Base URL of the Hippo under test.
    pub base: String,
    /// For screenshot names: which test took them.
    pub test_name: &'static str,
    // Fields drop in order: the driver (and Chromium) before the profile.
    _driver: Chromedriver,
    _profile: tempfile::TempDir,
}

/// Chromium's switches: headless, nothing that phones home or updates
/// itself during a test, a profile of its own, one language.
fn chromium_args(language: BrowserLanguage, profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("--user-data-dir={}", profile.display()),
        format!("--lang={}", language.locale()),
    ])
    .collect()
}

impl Browser {
    /// Chromium set to `language`, pointed at the server at `base`.
    pub async fn start(base: &str, language: BrowserLanguage, test_name: &'static str) -> Self {
        let mut driver = Chromedriver::start();
        driver.wait_until_listening().await;
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": program("HIPPO_TEST_CHROMIUM", "chromium"),
                "args": chromium_args(language, profile.path()),
                "prefs": {"intl.accept_languages": language.accept_languages()},
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let client = ClientBuilder::rustls()
            .unwrap()
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start Chromium: {e}"));
        // Bounded: a page load or script that hangs fails the test.
        client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(Duration::from_secs(30)),
                Some(Duration::from_secs(30)),
                Some(Duration::ZERO),
            ))
            .await
            .unwrap();
        Self {
            client,
            language,
            base: base.trim_end_matches('/').to_owned(),
            test_name,
            _driver: driver,
            _profile: profile,
        }
    }
}
