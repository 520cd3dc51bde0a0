//! `hippo-load soak`: a bounded run of mixed reads and writes at a fixed
//! share of measured capacity (open loop: requests are started on a
//! schedule, not when the previous one returns), with memory sampled along
//! the way and `hippo audit verify` at the end.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Client;
use tokio::sync::Semaphore;

use crate::servers::{Server, login};
use crate::world::{self, PASSWORD};

#[derive(clap::Args)]
pub struct SoakOptions {
    #[arg(long)]
    pub data_dir: PathBuf,
    #[arg(long, default_value = "target/release/hippo")]
    pub hippo: PathBuf,
    #[arg(long, default_value_t = 600)]
    pub seconds: u64,
    /// Requests per second (default: `share` of the measured capacity).
    #[arg(long)]
    pub rate: Option<f64>,
    #[arg(long, default_value_t = 0.7)]
    pub share: f64,
    #[arg(long, default_value_t = 0)]
    pub server_core: usize,
}

#[derive(Clone)]
struct Targets {
    client: Client,
    url: String,
    patient: String,
    staff: String,
    patient_findings: Arc<Vec<String>>,
    staff_patient: String,
    /// Patients the soak created; uploads are spread over them, so that no
    /// one patient's findings list grows without bound and reads keep
    /// their cost.
    created: Arc<Mutex<Vec<String>>>,
}

/// One operation of the mix; `n` picks it (85 % reads, 15 % writes).
async fn operation(targets: &Targets, n: u64) -> Result<u16, String> {
    let t = targets;
    let request = match n % 20 {
        0 => {
            let response = t
                .client
                .post(format!("{}/api/v1/patients", t.url))
                .bearer_auth(&t.staff)
                .json(&serde_json::json!({
                    "given_name": "Soak", "family_name": format!("Patient{n}"), "birth_date": "1980-01-01"
                }))
                .timeout(Duration::from_secs(30))
                .send()
                .await
                .map_err(|e| if e.is_timeout() { "timeout".into() } else { "connection".to_string() })?;
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            if let (Some(id), Ok(mut created)) = (body["id"].as_str(), t.created.lock()) {
                created.push(id.to_owned());
            }
            return Ok(status);
        }
        1 => {
            let patient = t
                .created
                .lock()
                .ok()
                .and_then(|c| (!c.is_empty()).then(|| c[(n as usize / 20) % c.len()].clone()))
                .unwrap_or_else(|| t.staff_patient.clone());
            let metadata = serde_json::json!({"title": "Soak", "observations": [
                {"code": "718-7", "display": "Hämoglobin", "value": 13.2, "unit": "g/dl",
                 "reference_low": 12, "reference_high": 17.5}]});
            let form = reqwest::multipart::Form::new()
                .text("metadata", metadata.to_string())
                .part(
                    "pdf",
                    reqwest::multipart::Part::bytes(hippo_core::file_kind::minimal_pdf("soak"))
                        .file_name("soak.pdf")
                        .mime_str("application/pdf")
                        .map_err(|e| e.to_string())?,
                );
            t.client
                .post(format!("{}/api/v1/patients/{patient}/findings", t.url))
                .bearer_auth(&t.staff)
                .multipart(form)
        }
        2 => t
            .client
            .get(format!(
                "{}/api/v1/patients/{}/findings",
                t.url, t.staff_patient
            ))
            .bearer_auth(&t.staff),
        3 => t
            .client
            .get(format!("{}/api/v1/findings", t.url))
            .bearer_auth(&t.patient),
        _ => {
            let id = &t.patient_findings[(n as usize) % t.patient_findings.len()];
            t.client
                .get(format!("{}/api/v1/findings/{id}", t.url))
                .bearer_auth(&t.patient)
        }
    };
    let response = request
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "timeout".into()
            } else {
                "connection".to_string()
            }
        })?;
    let status = response.status().as_u16();
    let _ = response.bytes().await;
    Ok(status)
}

/// Closed-loop capacity of the mix with 64 workers for a few seconds.
async fn capacity(targets: &Targets) -> f64 {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(5);
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let workers: Vec<_> = (0..64)
        .map(|_| {
            let (targets, counter) = (targets.clone(), counter.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let _ = operation(&targets, n).await;
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    counter.load(std::sync::atomic::Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

pub async fn soak(options: SoakOptions) -> anyhow::Result<bool> {
    let world = world::load(&options.data_dir)?;
    let data_dir = options.data_dir.to_string_lossy().into_owned();
    let hippo = Server::start(
        &options.hippo,
        &["serve", "--data-dir", &data_dir, "--listen", "127.0.0.1:0"],
        options.server_core,
    )?;
    let targets = Targets {
        client: Client::builder().pool_max_idle_per_host(1024).build()?,
        patient: login(&hippo.url, &world.patient_email, PASSWORD, None).await?,
        staff: login(
            &hippo.url,
            &world.staff_email,
            PASSWORD,
            world.staff_totp_secret.as_deref(),
        )
        .await?,
        url: hippo.url.clone(),
        patient_findings: Arc::new(world.patient_findings.clone()),
        staff_patient: world.staff_patient.clone(),
        created: Arc::default(),
    };
    let rate = match options.rate {
        Some(rate) => rate,
        None => {
            let measured = capacity(&targets).await;
            println!("measured capacity of the mix: {measured:.0} req/s");
            measured * options.share
        }
    };
    let (rss_start, _) = hippo.memory_mib();
    println!(
        "soak: {rate:.0} req/s for {} s (85 % reads, 15 % writes); RSS at start {rss_start:.0} MiB",
        options.seconds
    );
    let statuses: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    // In flight at most this many; beyond it the client itself is the
    // bottleneck and says so, instead of piling up tasks.
    let in_flight = Arc::new(Semaphore::new(2048));
    let started = Instant::now();
    let total = (rate * options.seconds as f64) as u64;
    let mut samples = Vec::new();
    let mut next_sample = Duration::from_secs(10);
    for n in 0..total {
        let due = Duration::from_secs_f64(n as f64 / rate);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        if started.elapsed() >= next_sample {
            samples.push((next_sample.as_secs(), hippo.memory_mib().0));
            next_sample += Duration::from_secs(10);
        }
        let permit = in_flight.clone().acquire_owned().await?;
        let (targets, statuses) = (targets.clone(), statuses.clone());
        tokio::spawn(async move {
            let outcome = match operation(&targets, n).await {
                Ok(status) => status.to_string(),
                Err(kind) => kind,
            };
            if let Ok(mut statuses) = statuses.lock() {
                *statuses.entry(outcome).or_default() += 1;
            }
            drop(permit);
        });
    }
    // Every request has been answered once all permits are back.
    let _all = in_flight.acquire_many(2048).await?;
    let (rss_end, rss_peak) = hippo.memory_mib();
    drop(hippo);
    let statuses = statuses.lock().map(|s| s.clone()).unwrap_or_default();
    println!("answers: {statuses:?}");
    println!("RSS every 10 s (MiB): {samples:?}");
    println!("RSS at start {rss_start:.0} MiB, at end {rss_end:.0} MiB, peak {rss_peak:.0} MiB");
    let server_errors: u64 = statuses
        .iter()
        .filter(|(k, _)| {
            k.starts_with('5') || k.as_str() == "timeout" || k.as_str() == "connection"
        })
        .map(|(_, n)| n)
        .sum();
    let verify = std::process::Command::new(&options.hippo)
        .args(["audit", "verify", "--data-dir", &data_dir])
        .output()?;
    println!(
        "hippo audit verify: {}",
        String::from_utf8_lossy(&verify.stdout).trim()
    );
    let passed = server_errors == 0 && verify.status.success();
    println!(
        "soak {}: {server_errors} server errors or timeouts",
        if passed { "passed" } else { "FAILED" }
    );
    Ok(passed)
}
