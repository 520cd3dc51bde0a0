//! The load harness (issue 9): generate data at scale, serve it, and
//! measure the real request path against baselines, under concurrency,
//! floods and a soak. See docs/BENCHMARKS.md for how to run it.

mod baseline;
mod fhir;
mod hl7;
mod oha;
mod run;
mod servers;
mod soak;
mod world;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "hippo-load", about = "Hippo's load harness")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a data directory at benchmark scale (reused if present).
    Generate {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 100)]
        tenants: usize,
        #[arg(long, default_value_t = 100_000)]
        patients: usize,
        #[arg(long, default_value_t = 500_000)]
        findings: usize,
        /// The `hippo` binary (for `keys init`).
        #[arg(long, default_value = "target/release/hippo")]
        hippo: PathBuf,
    },
    /// Serve baselines B and C (started by `run`).
    ServeBaseline {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
    /// Interleaved rounds of A, B and C, sweep, latency, login flood.
    Run(run::RunOptions),
    /// FHIR search latency (issue 13) with `wrk`.
    Fhir(fhir::FhirOptions),
    /// HL7 v2 intake over MLLP: messages/s with ACK (issue 13).
    Hl7(hl7::Hl7Options),
    /// Mixed reads and writes at a share of capacity; exit 1 on any 5xx,
    /// timeout, or a log that does not verify.
    Soak(soak::SoakOptions),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Generate {
            data_dir,
            tenants,
            patients,
            findings,
            hippo,
        } => {
            let world = world::generate(&hippo, &data_dir, tenants, patients, findings).await?;
            println!(
                "{} tenants, {} patients, {} findings in {}",
                world.tenants,
                world.patients,
                world.findings,
                data_dir.display()
            );
        }
        Command::ServeBaseline { data_dir, listen } => baseline::serve(&data_dir, listen).await?,
        Command::Run(options) => run::run(options).await?,
        Command::Fhir(options) => fhir::fhir(options).await?,
        Command::Hl7(options) => hl7::run(options).await?,
        Command::Soak(options) => {
            if !soak::soak(options).await? {
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
