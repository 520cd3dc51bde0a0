//! A real SMTP server on loopback for the notification tests (issue 11):
//! aiosmtpd with the handler in `smtp_sink.py`, which stores every
//! accepted mail as a JSON file. Started and stopped by the test, on a
//! random free port; tests that use it carry `smtp` in their name.

use super::*;

/// One mail as the receiving server stored it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ReceivedMail {
    pub message_id: String,
    pub rcpt_tos: Vec<String>,
    pub to: String,
    pub subject: String,
    /// The text body, transfer encoding undone.
    pub body: String,
    /// The message as sent (headers and encoded body).
    pub raw: String,
}

pub struct SmtpSink {
    child: Option<std::process::Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The interpreter that has aiosmtpd (`scripts/test` exports it; Debian's
/// `python3-aiosmtpd` installs it for `/usr/bin/python3`).
fn smtp_python() -> String {
    std::env::var("HIPPO_TEST_SMTP_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into())
}

impl SmtpSink {
    /// On a free port; fails the test if aiosmtpd is missing.
    pub async fn start() -> Self {
        let mut sink = Self {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
        };
        sink.run(None).await;
        sink
    }

    /// (Re)start on the same port and mail directory; with `stop_after`,
    /// the server stores that many more mails, refuses the rest and exits.
    pub async fn run(&mut self, stop_after: Option<usize>) {
        self.stop();
        let helpers = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/helpers");
        let mut command = std::process::Command::new(smtp_python());
        command
            .env("PYTHONPATH", &helpers)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "smtp_sink.Sink"])
            .arg(self.dir.path());
        if let Some(n) = stop_after {
            // The sink counts what it stores in this run.
            command.arg(n.to_string());
        }
        let mut child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "this test needs aiosmtpd ({} -m aiosmtpd): {e}; run `scripts/test`",
                    smtp_python()
                )
            });
        for _ in 0..300 {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "this test needs aiosmtpd (Debian python3-aiosmtpd for {}), which exited: {status}; run `scripts/test`",
                    smtp_python()
                );
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                self.child = Some(child);
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        panic!("aiosmtpd did not listen on port {} in time", self.port);
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Wait until the server exited by itself (a `stop_after` run).
    pub async fn wait_for_exit(&mut self) {
        let child = self.child.as_mut().expect("the sink is not running");
        for _ in 0..1200 {
            if child.try_wait().unwrap().is_some() {
                self.child = None;
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the SMTP sink did not stop by itself");
    }

    /// Every mail received so far, in no particular order.
    pub fn mails(&self) -> Vec<ReceivedMail> {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    /// The facility's notices only: every mail but the account mails (new
    /// login, password reset) that a test's own logins send as well.
    pub fn notices(&self) -> Vec<ReceivedMail> {
        let account = account_mail_subjects();
        self.mails()
            .into_iter()
            .filter(|m| !account.contains(&m.subject))
            .collect()
    }

    /// Sender settings for this server: plain SMTP on loopback, quick
    /// polls, short backoff, leases and timeouts.
    pub fn notify_config(&self) -> hippo_server::notify::NotifyConfig {
        let mut config = hippo_server::notify::NotifyConfig::new(
            "127.0.0.1",
            self.port,
            "Hippo <noreply@hippo.test>",
            url::Url::parse(NOTIFY_BASE_URL).unwrap(),
        );
        config.smtp_security = hippo_server::notify::SmtpSecurity::Plain;
        config.poll_every = std::time::Duration::from_millis(50);
        config.backoff_base = std::time::Duration::from_millis(100);
        config.backoff_cap = std::time::Duration::from_millis(500);
        config.max_attempts = 1000;
        config.lease = std::time::Duration::from_secs(20);
        config.smtp_timeout = std::time::Duration::from_secs(5);
        config
    }
}

/// The portal URL the test notifications link to.
pub const NOTIFY_BASE_URL: &str = "https://portal.hippo.test/";

/// Wait (bounded by rounds, not asserted on time) until no notification is
/// pending, being sent or of unknown outcome.
pub async fn outbox_drained(db: &AnyPool) {
    for _ in 0..1200 {
        let open: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM notification_outbox WHERE state IN ('pending', 'sending', 'unknown')",
        )
        .fetch_one(db)
        .await
        .unwrap()
        .get("n");
        if open == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("notifications still open after a minute");
}

/// The subjects of the account mails in both languages, from the catalog.
fn account_mail_subjects() -> Vec<String> {
    let mut subjects = Vec::new();
    for language in ["de", "en"] {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../hippo-server/locales")
            .join(language)
            .join("mail.ftl");
        for line in std::fs::read_to_string(file).unwrap().lines() {
            if let Some((key, text)) = line.split_once('=')
                && matches!(key.trim(), "mail-new-device-subject" | "mail-reset-subject")
            {
                subjects.push(text.trim().to_owned());
            }
        }
    }
    assert_eq!(subjects.len(), 4, "two account mails in two languages");
    subjects
}
