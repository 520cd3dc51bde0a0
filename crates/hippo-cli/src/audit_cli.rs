//! `hippo audit …`: verify the log, show or issue the signed head, prove a
//! record's inclusion.

use std::sync::Arc;

use anyhow::{Context, bail};
use hippo_audit::head::verifying_key_from_hex;
use hippo_audit::merkle::verify_inclusion;
use hippo_core::time_util::rfc3339;
use hippo_store::{HeadIssuer, Store};
use serde_json::json;

use crate::forensics_cli::FilterArgs;
use crate::progress::Progress;
use crate::settings::DataArgs;
use crate::settings::DataSettings;
use crate::store_cli::with_store;
use clap::Subcommand;
use std::path::{Path, PathBuf};

/// `hippo audit …`.
// Parsed once per run; the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute the whole log, check every signed head and their
    /// consistency; name the first record that is wrong. Exit code 1 if so.
    Verify {
        #[command(flatten)]
        data: DataArgs,
        /// Check against this public key (hex) instead of the key file's.
        #[arg(long, value_name = "HEX")]
        public_key: Option<String>,
    },
    /// Show the latest signed tree head.
    Head {
        #[command(flatten)]
        data: DataArgs,
        /// Issue a fresh head for the current log first.
        #[arg(long)]
        issue: bool,
    },
    /// Export records (JSON lines, or FHIR R4 AuditEvent ndjson).
    Export {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        filter: FilterArgs,
        /// Write FHIR R4 AuditEvent resources instead of Hippo's records.
        #[arg(long)]
        fhir: bool,
        /// Output file; default standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print an inclusion proof of one record in the latest signed head.
    Prove {
        #[command(flatten)]
        data: DataArgs,
        /// The record's public ID.
        record: String,
    },
}

pub async fn run(command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify { data, public_key } => {
            with_store(&data, async |store, settings| {
                verify(store, settings, public_key.as_deref()).await
            })
            .await
        }
        AuditCommand::Head { data, issue } => {
            with_store(&data, async |store, settings| {
                head(store, settings, issue).await
            })
            .await
        }
        AuditCommand::Export {
            data,
            filter,
            fhir,
            out,
        } => {
            with_store(&data, async |store, _| {
                export(store, &filter, fhir, out.as_deref()).await
            })
            .await
        }
        AuditCommand::Prove { data, record } => {
            with_store(&data, async |store, settings| {
                prove(store, settings, &record).await
            })
            .await
        }
    }
}

/// Every selected record, to a file or standard output.
async fn export(
    store: &Store,
    filter: &FilterArgs,
    fhir: bool,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let mut filter = filter.filter()?;
    filter.limit = Some(1_000_000);
    let records = store.unscoped_forensics().accesses(&filter).await?;
    match out {
        Some(path) => {
            let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
            crate::export::write(&records, fhir, &mut file)?;
            eprintln!("wrote {} records to {}", records.len(), path.display());
        }
        None => crate::export::write(&records, fhir, &mut std::io::stdout().lock())?,
    }
    Ok(())
}

/// Verify; returns the report's problem as an error so the exit code is 1.
pub async fn verify(
    store: &Store,
    settings: &DataSettings,
    public_key: Option<&str>,
) -> anyhow::Result<()> {
    let key = match public_key {
        Some(hex) => verifying_key_from_hex(hex)?,
        None => settings.load_audit_key()?.verifying_key(),
    };
    let log = store.audit_log();
    let total = log.size().await?;
    let mut progress = Progress::new("verifying", total.max(1) as usize);
    let mut shown = 0u64;
    let started = std::time::Instant::now();
    let report = log
        .verify(&key, |done, _| {
            while shown < done {
                shown += 1;
                if shown.is_multiple_of(20_000) || shown == total {
                    progress.set(shown as usize);
                }
            }
        })
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    match report.problem {
        None => {
            println!(
                "audit log intact: {} records, {} signed tree heads, verified in {:.2} s ({:.0} records/s)",
                report.records,
                report.heads,
                seconds,
                report.records as f64 / seconds.max(1e-9)
            );
            Ok(())
        }
        Some(problem) => bail!("audit log verification FAILED: {problem}"),
    }
}

pub async fn head(store: &Store, settings: &DataSettings, issue: bool) -> anyhow::Result<()> {
    let log = store.audit_log();
    if issue {
        let key = Arc::new(settings.load_audit_key()?);
        let mut issuer = HeadIssuer::new(log.clone(), key, u64::MAX, i64::MAX).await?;
        issuer.tick(true).await?;
    }
    let Some(signed) = log.latest_head().await? else {
        println!(
            "no signed tree head yet ({} records); use --issue",
            log.size().await?
        );
        return Ok(());
    };
    let valid = settings
        .load_audit_key()
        .map(|k| signed.verify(&k.verifying_key()))
        .ok();
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "tree_size": signed.head.size,
            "root_hash": hex::encode(signed.head.root),
            "issued_at": rfc3339(signed.head.issued_at),
            "signature": hex::encode(signed.signature),
            "signature_valid": valid,
            "log_size": log.size().await?,
        }))?
    );
    Ok(())
}

pub async fn prove(store: &Store, settings: &DataSettings, record: &str) -> anyhow::Result<()> {
    let proof = store
        .audit_log()
        .inclusion_proof(record)
        .await
        .with_context(|| format!("cannot prove record {record}"))?;
    let key = settings.load_audit_key()?.verifying_key();
    let verified = proof.head.verify(&key)
        && verify_inclusion(
            proof.leaf_index,
            proof.head.head.size,
            &proof.leaf_hash,
            &proof.audit_path,
            &proof.head.head.root,
        );
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "record": record,
            "leaf_index": proof.leaf_index,
            "leaf_hash": hex::encode(proof.leaf_hash),
            "audit_path": proof.audit_path.iter().map(hex::encode).collect::<Vec<_>>(),
            "tree_size": proof.head.head.size,
            "root_hash": hex::encode(proof.head.head.root),
            "signature": hex::encode(proof.head.signature),
            "public_key": hex::encode(key.to_bytes()),
            "verified": verified,
        }))?
    );
    if !verified {
        bail!("the proof does not verify");
    }
    Ok(())
}
