//! Starting the servers under test on one core and the load generator on
//! another (`taskset`), and reading their memory from `/proc`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A server process under test; killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Start `program args…` pinned to `core`, wait for its "http://…" line.
    pub fn start(program: &Path, args: &[&str], core: usize) -> anyhow::Result<Self> {
        Self::start_on(program, args, &core.to_string())
    }

    /// Start `program args…` on the CPUs `cpus` names (taskset's list:
    /// `0`, `0,1`, `0-1`), wait for its "http://…" line.
    pub fn start_on(program: &Path, args: &[&str], cpus: &str) -> anyhow::Result<Self> {
        let mut child = Command::new("taskset")
            .arg("-c")
            .arg(cpus)
            .arg(program)
            .args(args)
            .env("HIPPO_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting {} under taskset: {e}", program.display()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let Some(line) = lines.next() else {
                anyhow::bail!("{} exited before listening", program.display());
            };
            let line = line?;
            if let Some(at) = line.find("http://") {
                let url: String = line[at..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                break url.trim_end_matches('/').to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Self { child, url })
    }

    /// Resident memory now and at its peak, in MiB (`VmRSS`, `VmHWM`).
    pub fn memory_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

/// Log in through the API and return the bearer token; with a TOTP
/// secret, the second step too (staff must have a second factor).
pub async fn login(
    url: &str,
    email: &str,
    password: &str,
    totp_secret: Option<&str>,
) -> anyhow::Result<String> {
    let client = reqwest::Client::new();
    let mut body: serde_json::Value = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    if body["second_factor_required"] == true {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let code = totp_secret
            .and_then(|secret| hippo_server::auth::totp::code_at(secret, now))
            .ok_or_else(|| anyhow::anyhow!("{email} needs a TOTP code; regenerate the world"))?;
        body = client
            .post(format!("{url}/api/v1/auth/login/second-factor"))
            .json(&serde_json::json!({"pending_token": body["pending_token"], "code": code}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
    }
    body["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("login of {email} returned no token"))
}
