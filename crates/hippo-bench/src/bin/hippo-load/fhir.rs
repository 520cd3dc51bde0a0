//! `hippo-load fhir`: FHIR search latency (issue 13) over a generated data
//! set. Starts `hippo serve` on the server core, logs in the bench patient
//! and clinician, and drives each search with `wrk` (Debian) on the load
//! core, closed loop with keep-alive connections; prints a Markdown table.

use std::path::PathBuf;
use std::process::Command;

use crate::servers::{Server, login};
use crate::world::{self, PASSWORD};

#[derive(clap::Args)]
pub struct FhirOptions {
    #[arg(long)]
    pub data_dir: PathBuf,
    #[arg(long, default_value = "target/release/hippo")]
    pub hippo: PathBuf,
    #[arg(long, default_value = "wrk")]
    pub wrk: PathBuf,
    /// Seconds per search.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent keep-alive connections (clients).
    #[arg(long, value_delimiter = ',', default_value = "64")]
    pub connections: Vec<usize>,
    #[arg(long, default_value_t = 0)]
    pub server_core: usize,
    #[arg(long, default_value_t = 1)]
    pub load_core: usize,
}

/// What `wrk --latency` reports, in milliseconds and requests per second.
#[derive(Debug, Default)]
struct WrkReport {
    requests_per_sec: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    requests: u64,
    non_2xx: u64,
    socket_errors: String,
}

fn millis(value: &str) -> f64 {
    let split = value
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => number / 1000.0,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => number,
    }
}

fn parse_wrk(output: &str) -> WrkReport {
    let mut report = WrkReport::default();
    for line in output.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => report.p50 = millis(v),
            ["90%", v] => report.p90 = millis(v),
            ["99%", v] => report.p99 = millis(v),
            ["Requests/sec:", v] => report.requests_per_sec = v.parse().unwrap_or(f64::NAN),
            ["Non-2xx", "or", "3xx", "responses:", n] => report.non_2xx = n.parse().unwrap_or(0),
            [n, "requests", "in", ..] => report.requests = n.parse().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => report.socket_errors = rest.join(" "),
            _ => {}
        }
    }
    report
}

pub async fn fhir(options: FhirOptions) -> anyhow::Result<()> {
    let world = world::load(&options.data_dir)?;
    let data_dir = options.data_dir.to_string_lossy().into_owned();
    let config = options.data_dir.join("bench-server.toml");
    std::fs::write(&config, "login_attempts_per_client_per_minute = 1000000\n")?;
    let config_arg = config.to_string_lossy().into_owned();
    let hippo = Server::start(
        &options.hippo,
        &[
            "serve",
            "--data-dir",
            &data_dir,
            "--config",
            &config_arg,
            "--listen",
            "127.0.0.1:0",
        ],
        options.server_core,
    )?;
    let patient = login(&hippo.url, &world.patient_email, PASSWORD, None).await?;
    let staff = login(
        &hippo.url,
        &world.staff_email,
        PASSWORD,
        world.staff_totp_secret.as_deref(),
    )
    .await?;
    // The bench patient's own records (one in each of two facilities).
    let own: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/fhir/r4/Patient", hippo.url))
        .bearer_auth(&patient)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let own_patient = own["entry"][0]["resource"]["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the bench patient has no patient record"))?
        .to_owned();
    let base = format!("{}/fhir/r4", hippo.url);
    let scenarios = [
        (
            "patient",
            format!("DiagnosticReport?patient={own_patient}&_sort=-date&_count=20"),
            &patient,
        ),
        (
            "patient",
            "DiagnosticReport?_sort=-date&_count=20&_include=DiagnosticReport:result".to_owned(),
            &patient,
        ),
        (
            "patient",
            "Observation?code=718-7&_sort=-date&_count=20".to_owned(),
            &patient,
        ),
        (
            "clinician",
            format!(
                "DiagnosticReport?patient={}&_sort=-date&_count=20",
                world.staff_patient
            ),
            &staff,
        ),
        (
            "clinician",
            format!(
                "Observation?patient={}&code=718-7&date=ge2020-01-01&_count=20",
                world.staff_patient
            ),
            &staff,
        ),
        (
            "clinician",
            "DiagnosticReport?_sort=-date&_count=20".to_owned(),
            &staff,
        ),
    ];
    println!(
        "hippo-load fhir: {} tenants, {} patients, {} findings; server on core {}, wrk on core {}, {} s per search\n",
        world.tenants,
        world.patients,
        world.findings,
        options.server_core,
        options.load_core,
        options.seconds
    );
    println!(
        "| caller | search | connections | req/s | p50 ms | p90 ms | p99 ms | requests | non-2xx |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for connections in &options.connections {
        for (caller, search, token) in &scenarios {
            let output = Command::new("taskset")
                .arg("-c")
                .arg(options.load_core.to_string())
                .arg(&options.wrk)
                .args(["-t", "1", "-c", &connections.to_string()])
                .args(["-d", &format!("{}s", options.seconds), "--latency"])
                .args(["-H", &format!("Authorization: Bearer {token}")])
                .args(["-H", "Accept: application/fhir+json"])
                .arg(format!("{base}/{search}"))
                .output()?;
            anyhow::ensure!(
                output.status.success(),
                "wrk failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let report = parse_wrk(&String::from_utf8_lossy(&output.stdout));
            let errors = if report.socket_errors.is_empty() {
                String::new()
            } else {
                format!(" ({})", report.socket_errors)
            };
            println!(
                "| {caller} | `GET /fhir/r4/{}` | {connections} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {}{errors} |",
                search
                    .replace(&own_patient, "{own}")
                    .replace(&world.staff_patient, "{patient}"),
                report.requests_per_sec,
                report.p50,
                report.p90,
                report.p99,
                report.requests,
                report.non_2xx,
            );
        }
    }
    let (rss, peak) = hippo.memory_mib();
    println!("\nhippo serve memory: {rss:.0} MiB resident, {peak:.0} MiB peak");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn wrk_output_is_read() {
        let report = super::parse_wrk(
            "  Latency Distribution\n     50%  812.00us\n     90%    2.10ms\n     99%    1.20s\n  \
             5000 requests in 10.00s, 1.00MB read\n  Non-2xx or 3xx responses: 3\nRequests/sec:    500.10\n",
        );
        assert_eq!(report.p50, 0.812);
        assert_eq!(report.p90, 2.1);
        assert_eq!(report.p99, 1200.0);
        assert_eq!(report.requests, 5000);
        assert_eq!(report.non_2xx, 3);
        assert_eq!(report.requests_per_sec, 500.1);
    }
}
