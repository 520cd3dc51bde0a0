//! `hippo-load hl7` (issue 13 point 6): HL7 v2 ORU^R01 intake over MLLP,
//! messages per second with their ACK, over N concurrent connections
//! against a release `hippo serve --mllp`. The harness makes a fresh data
//! directory with one lab tenant and its API key, starts the server
//! pinned to `--server-cores`, and sends from its own process (run it
//! under `taskset -c 1`). Every message must be answered AA.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use hippo_core::StaffRole;
use hippo_core::policy::Action;
use hippo_hl7::mllp::{FrameDecoder, frame};
use hippo_store::{LoginSubject, TenantKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::servers::Server;
use crate::world::open_store;

#[derive(Args)]
pub struct Hl7Options {
    /// A fresh directory (created; must not hold data yet).
    #[arg(long)]
    pub data_dir: PathBuf,
    #[arg(long, default_value = "target/release/hippo")]
    pub hippo: PathBuf,
    /// Messages in all.
    #[arg(long, default_value_t = 20_000)]
    pub messages: usize,
    /// Concurrent MLLP connections, each sending one message after the
    /// other (send, wait for the ACK, next).
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Distinct patients (by PID-3) the messages are about; each is
    /// created by its first message.
    #[arg(long, default_value_t = 1_000)]
    pub patients: usize,
    /// Results (OBX) per message.
    #[arg(long, default_value_t = 5)]
    pub results: usize,
    /// The CPUs the server runs on, as taskset takes them: `0` (one core,
    /// the harness on the other), or `0-1` (the whole machine; the harness
    /// itself needs well under 1 % of a core).
    #[arg(long, default_value = "0")]
    pub server_cores: String,
}

fn message(control: usize, patient: usize, results: usize) -> Vec<u8> {
    let mut text = format!(
        "MSH|^~\\&|LIS|Bench Labor|HIPPO|Hippo|20261203080000||ORU^R01^ORU_R01|BENCH-{control}|P|2.5.1||||||UNICODE UTF-8\r\
         PID|1||BP-{patient}^^^BENCH^MR||Patient{patient}^Bench||19700101|F\r\
         OBR|1|A-{control}|F-{control}|58410-2^Blutbild^LN|||202612030745\r"
    );
    let analytes = [
        ("718-7", "Hämoglobin", "g/dl", "12-16"),
        ("6690-2", "Leukozyten", "/nl", "4.0-10.0"),
        ("777-3", "Thrombozyten", "/nl", "150-400"),
        ("2345-7", "Glucose", "mg/dl", "70-99"),
        ("2093-3", "Cholesterin", "mg/dl", "<200"),
    ];
    for i in 0..results {
        let (code, name, unit, range) = analytes[i % analytes.len()];
        let value = 10 + (control + i) % 90;
        text.push_str(&format!(
            "OBX|{}|NM|{code}^{name}^LN||{value}|{unit}|{range}||||F\r",
            i + 1
        ));
    }
    text.into_bytes()
}

/// One tenant, its admin and a lab-system key, straight into the store.
async fn provision(options: &Hl7Options) -> anyhow::Result<String> {
    anyhow::ensure!(
        !options.data_dir.join("hippo.db").exists(),
        "{} holds data already; give a fresh --data-dir",
        options.data_dir.display()
    );
    std::fs::create_dir_all(&options.data_dir)?;
    let status = std::process::Command::new(&options.hippo)
        .args(["keys", "init", "--data-dir"])
        .arg(&options.data_dir)
        .status()
        .context("running `hippo keys init`")?;
    anyhow::ensure!(status.success(), "`hippo keys init` failed");
    let store = open_store(&options.data_dir).await?;
    let provisioning = store.unscoped_provisioning();
    let tenant = provisioning
        .create_tenant("Bench HL7 Labor", TenantKind::Lab)
        .await?;
    let hash = hippo_server::auth::password::hash(crate::world::PASSWORD)
        .map_err(|e| anyhow::anyhow!("hashing: {e:?}"))?;
    let admin = provisioning
        .create_staff(
            tenant,
            "admin@bench-hl7.example",
            "Bench Admin",
            StaffRole::TenantAdmin,
            &hash,
        )
        .await?;
    let principal = store
        .unscoped_auth()
        .principal(LoginSubject::Staff(admin))
        .await?
        .ok_or_else(|| anyhow::anyhow!("the admin just created is gone"))?;
    let gate = Arc::new(hippo_policy::Policy::load()?).gate(&principal);
    let key = hippo_server::auth::token::new_api_key();
    let scope = store
        .staff_scope(&principal, Default::default(), gate, Action::ApiKeyCreate)
        .ok_or_else(|| anyhow::anyhow!("no staff scope"))?;
    use secrecy::ExposeSecret;
    scope
        .create_api_key(
            "bench lab",
            &hippo_server::auth::token::hash_token(key.expose_secret()),
        )
        .await?;
    store.close().await;
    Ok(key.expose_secret().to_owned())
}

fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

async fn read_ack(stream: &mut TcpStream, decoder: &mut FrameDecoder) -> anyhow::Result<Vec<u8>> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(frame) = decoder.next_frame()? {
            return Ok(frame);
        }
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut chunk))
            .await
            .context("no ACK within 30 s")??;
        anyhow::ensure!(n > 0, "connection closed before the ACK");
        decoder.push(&chunk[..n])?;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

pub async fn run(options: Hl7Options) -> anyhow::Result<()> {
    let key = provision(&options).await?;
    let key_file = options.data_dir.join("bench-lab.key");
    std::fs::write(&key_file, &key)?;
    let mllp = free_port()?;
    let data_dir = options.data_dir.to_string_lossy().into_owned();
    let mllp_arg = mllp.to_string();
    let key_arg = key_file.to_string_lossy().into_owned();
    let _server = Server::start_on(
        &options.hippo,
        &[
            "serve",
            "--data-dir",
            &data_dir,
            "--listen",
            "127.0.0.1:0",
            "--mllp",
            &mllp_arg,
            "--mllp-api-key-file",
            &key_arg,
        ],
        &options.server_cores,
    )?;
    let connections = options.connections.max(1);
    let per_connection = options.messages.div_ceil(connections);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (patients, results) = (options.patients.max(1), options.results);
        let count = per_connection.min(options.messages.saturating_sub(c * per_connection));
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(mllp).await?;
            stream.set_nodelay(true)?;
            let mut decoder = FrameDecoder::new(1 << 20);
            let mut latencies = Vec::with_capacity(count);
            let mut refused = 0usize;
            for m in 0..count {
                let control = c * per_connection + m;
                let payload = frame(&message(control, control % patients, results));
                let sent = Instant::now();
                stream.write_all(&payload).await?;
                let ack = read_ack(&mut stream, &mut decoder).await?;
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                if !ack.windows(7).any(|w| w == b"\rMSA|AA") {
                    refused += 1;
                }
            }
            anyhow::Ok((latencies, refused))
        }));
    }
    let mut latencies = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (l, r) = task.await??;
        latencies.extend(l);
        refused += r;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let sent = latencies.len();
    println!(
        "hippo-load hl7: {sent} ORU^R01 messages ({} OBX each, {} patients) over {connections} MLLP connections, server on cores {}",
        options.results, options.patients, options.server_cores
    );
    println!(
        "| messages | connections | seconds | messages/s | p50 ms | p99 ms | max ms | not AA |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {sent} | {connections} | {elapsed:.1} | {:.0} | {:.2} | {:.2} | {:.2} | {refused} |",
        sent as f64 / elapsed,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
    );
    anyhow::ensure!(refused == 0, "{refused} messages were not accepted");
    Ok(())
}
