//! What some tests need beside Hippo: free ports, moto, and the rule
//! for a missing service.

use super::*;

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
