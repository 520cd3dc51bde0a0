//! Driving `oha` (the load generator, `cargo install --locked oha`) pinned
//! to the load core, and reading its JSON summary.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// One run's outcome.
#[derive(Debug, Clone, Default)]
pub struct Measurement {
    pub requests_per_sec: f64,
    /// Milliseconds.
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub ok: u64,
    /// Answers other than 2xx, by status.
    pub non_2xx: Vec<(String, u64)>,
    /// Connection errors and timeouts, by kind.
    pub errors: Vec<(String, u64)>,
}

impl Measurement {
    pub fn failures(&self) -> u64 {
        self.non_2xx.iter().map(|(_, n)| n).sum::<u64>()
            + self.errors.iter().map(|(_, n)| n).sum::<u64>()
    }
}

/// How oha should drive the target.
pub struct Load<'a> {
    pub url: &'a str,
    pub token: Option<&'a str>,
    pub connections: usize,
    pub seconds: u64,
    /// `Some(rate)`: open loop at this many requests per second, latency
    /// measured from when each request was due (coordinated omission
    /// corrected). `None`: as fast as the connections go.
    pub rate: Option<f64>,
    pub method: &'a str,
    pub body: Option<&'a str>,
}

pub fn run(oha: &Path, core: usize, load: &Load<'_>) -> anyhow::Result<Measurement> {
    let mut command = Command::new("taskset");
    command
        .arg("-c")
        .arg(core.to_string())
        .arg(oha)
        .args(["--no-tui", "--output-format", "json", "-z"])
        .arg(format!("{}s", load.seconds))
        .arg("-c")
        .arg(load.connections.to_string())
        .args(["-m", load.method])
        // A request still open after 20 s counts as a timeout error.
        .args(["-t", "20s"])
        // Requests in flight at the deadline are waited for, not counted
        // as errors.
        .arg("-w");
    if let Some(rate) = load.rate {
        command
            .arg("-q")
            .arg(format!("{rate:.0}"))
            .arg("--latency-correction");
    }
    if let Some(token) = load.token {
        command
            .arg("-H")
            .arg(format!("authorization: Bearer {token}"));
    }
    if let Some(body) = load.body {
        command.args(["-T", "application/json", "-d"]).arg(body);
    }
    command.arg(load.url);
    let output = command.output().map_err(|e| {
        anyhow::anyhow!(
            "running {} (install it with `cargo install --locked oha`): {e}",
            oha.display()
        )
    })?;
    anyhow::ensure!(
        output.status.success(),
        "oha failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse(&serde_json::from_slice(&output.stdout)?)
}

fn parse(report: &Value) -> anyhow::Result<Measurement> {
    let ms = |v: &Value| v.as_f64().unwrap_or(f64::NAN) * 1000.0;
    let percentiles = &report["latencyPercentiles"];
    let mut measurement = Measurement {
        requests_per_sec: report["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
        p50: ms(&percentiles["p50"]),
        p99: ms(&percentiles["p99"]),
        p999: ms(&percentiles["p99.9"]),
        ..Measurement::default()
    };
    if let Some(statuses) = report["statusCodeDistribution"].as_object() {
        for (status, count) in statuses {
            let count = count.as_u64().unwrap_or(0);
            if status.starts_with('2') {
                measurement.ok += count;
            } else {
                measurement.non_2xx.push((status.clone(), count));
            }
        }
    }
    if let Some(errors) = report["errorDistribution"].as_object() {
        for (error, count) in errors {
            measurement
                .errors
                .push((error.clone(), count.as_u64().unwrap_or(0)));
        }
    }
    Ok(measurement)
}
