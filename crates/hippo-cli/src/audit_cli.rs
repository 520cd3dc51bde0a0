//! `hippo audit …`: verify the log, show or issue the signed head, prove a
//! record's inclusion.

use std::sync::Arc;

use anyhow::{Context, bail};
use hippo_audit::head::verifying_key_from_hex;
use hippo_audit::merkle::verify_inclusion;
use hippo_core::time_util::rfc3339;
use hippo_store::{HeadIssuer, Store};
use serde_json::json;

use crate::progress::Progress;
use crate::settings::DataSettings;

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
