//! `hippo keys …` and `hippo tenant delete`: the master keyring's life
//! cycle and crypto-shredding.

use std::path::Path;

use anyhow::{Context, bail};
use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_crypto::Keyring;
use hippo_store::Store;

use crate::settings::DataArgs;
use crate::settings::DataSettings;
use crate::store_cli::with_store;
use clap::Subcommand;

/// `hippo keys …`.
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create the audit log's ed25519 signing key and the master keyring
    /// (never overwrites either).
    Init {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Put a new master key in front of the keyring and re-wrap every data
    /// key under it, without downtime; `--retire` then drops the old keys.
    Rotate {
        #[command(flatten)]
        data: DataArgs,
        /// Drop the old master keys (refused while any data key needs one).
        #[arg(long)]
        retire: bool,
    },
}

/// `hippo tenant …`.
#[derive(Subcommand)]
pub enum TenantCommand {
    /// Delete a tenant: its patients, findings, staff and keys are removed
    /// and its data key destroyed, so its sealed blobs (and any copies of
    /// them) can no longer be opened. Audited.
    Delete {
        #[command(flatten)]
        data: DataArgs,
        /// The tenant's ID.
        id: String,
        /// The same ID again, to confirm.
        #[arg(long)]
        confirm: String,
    },
}

pub async fn run(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Init { data } => init(&data.load()?.0),
        KeysCommand::Rotate { data, retire } => {
            let report = with_store(&data, async |store, settings| {
                rotate(store, settings, retire).await
            })
            .await?;
            print!("{report}");
            Ok(())
        }
    }
}

pub async fn run_tenant(command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Delete { data, id, confirm } => {
            let report = with_store(&data, async |store, _| {
                delete_tenant(store, &id, &confirm).await
            })
            .await?;
            println!("{report}");
            Ok(())
        }
    }
}

/// `hippo keys init`: both keys, each only if missing.
fn init(settings: &DataSettings) -> anyhow::Result<()> {
    let created = settings.init_audit_key()?;
    let key = settings.load_audit_key()?;
    let keyring_created = settings.init_master_keyring()?;
    let verb = |created: bool| {
        if created {
            "created"
        } else {
            "kept the existing"
        }
    };
    println!(
        "{} master keyring {} (keep it apart from backups)",
        verb(keyring_created),
        settings.master_keyring.display()
    );
    println!(
        "{} audit signing key {}\npublic key: {}",
        verb(created),
        settings.audit_key.display(),
        key.public_hex()
    );
    Ok(())
}

fn operator_cli() -> AuditActor {
    AuditActor::operator_cli(std::env::var("USER").ok())
}

/// Replace a secret file atomically: a temporary file (0600) in the same
/// directory, synced, then renamed over the old one, so that a crash leaves
/// either the old or the new keyring, never half of one.
pub fn replace_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temporary = dir.join(format!(
        ".{}.new",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("keyring")
    ));
    crate::demo::write_private(&temporary, contents)?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

fn load_keyring(path: &Path) -> anyhow::Result<Keyring> {
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the master keyring {}; create one with `hippo keys init`",
            path.display()
        )
    })?);
    Ok(Keyring::parse(&text)?)
}

/// `hippo keys rotate`: a new current master key in front of the old ones
/// (running servers re-read the file when they meet a key they do not
/// know), then every data key re-wrapped under it. With `retire`, drop the
/// old keys once no data key needs them.
pub async fn rotate(
    store: &Store,
    settings: &DataSettings,
    retire: bool,
) -> anyhow::Result<String> {
    if std::env::var("HIPPO_MASTER_KEY").is_ok_and(|v| !v.trim().is_empty()) {
        bail!("HIPPO_MASTER_KEY is set: rotate the key in the environment, not the keyring file");
    }
    let path = &settings.master_keyring;
    let vault = store.unscoped_vault();
    let mut out = String::new();
    if !retire {
        let old = load_keyring(path)?;
        let old_id = old.current().id();
        let new = old.rotated()?;
        let new_id = new.current().id();
        replace_private(path, &new.to_text())?;
        let rewrapped = vault.rewrap_all().await?;
        store
            .audit_log()
            .append(
                operator_cli(),
                AuditEvent::new(Action::KeyRotate, ResourceKind::None, Outcome::Success).detail(
                    format!("master key {old_id} -> {new_id}; rewrapped={rewrapped}"),
                ),
                &RequestOrigin::cli("hippo keys rotate"),
            )
            .await?;
        out.push_str(&format!(
            "new master key {new_id} (was {old_id}); re-wrapped {rewrapped} data keys\n"
        ));
    }
    let ring = load_keyring(path)?;
    let current = ring.current().id().to_hex();
    let usage = vault.key_usage().await?;
    let still_old: i64 = usage
        .iter()
        .filter(|(id, _)| *id != current)
        .map(|(_, n)| n)
        .sum();
    for (id, n) in &usage {
        out.push_str(&format!(
            "  {id}: wraps {n} data keys{}\n",
            if *id == current { " (current)" } else { "" }
        ));
    }
    if retire {
        if still_old > 0 {
            bail!(
                "{still_old} data keys are still wrapped under old master keys; run `hippo keys rotate` first"
            );
        }
        let retired = ring.ids().len() - 1;
        replace_private(path, &ring.retire_old().to_text())?;
        store
            .audit_log()
            .append(
                operator_cli(),
                AuditEvent::new(Action::KeyRotate, ResourceKind::None, Outcome::Success).detail(
                    format!("retired {retired} old master keys; current {current}"),
                ),
                &RequestOrigin::cli("hippo keys rotate --retire"),
            )
            .await?;
        out.push_str(&format!("retired {retired} old master keys\n"));
    }
    Ok(out)
}

/// `hippo tenant delete`: remove a tenant's data and destroy its data key.
pub async fn delete_tenant(store: &Store, tenant: &str, confirm: &str) -> anyhow::Result<String> {
    let id: hippo_core::TenantId = tenant
        .parse()
        .map_err(|_| anyhow::anyhow!("{tenant:?} is not a tenant ID"))?;
    if confirm != tenant {
        bail!("to delete a tenant, repeat its ID with --confirm");
    }
    let deletion = store
        .unscoped_provisioning()
        .delete_tenant(id, operator_cli())
        .await
        .map_err(|e| match e {
            hippo_store::StoreError::NotFound => {
                anyhow::anyhow!("no tenant {tenant} (or it was deleted before)")
            }
            other => other.into(),
        })?;
    Ok(format!(
        "deleted tenant {} ({}): data key destroyed, {} patients and {} findings removed, {} sealed blobs can no longer be opened\n\
         Backups made before today still hold the data key wrapped under the current master key: \
         run `hippo keys rotate` and then `hippo keys rotate --retire` so that they cannot open it either.",
        deletion.name,
        deletion.tenant_id,
        deletion.patients,
        deletion.findings,
        deletion.unreadable_blobs
    ))
}
