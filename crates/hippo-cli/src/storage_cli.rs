//! `hippo backup`, `hippo restore` and `hippo blobs sweep`.
//!
//! A backup is a directory: `hippo.db` (a consistent copy taken with
//! SQLite's `VACUUM INTO` while the server keeps running), `blobs/` (every
//! sealed blob, copied after the database so that each blob the copy refers
//! to exists: blobs are written before their rows), and `MANIFEST.json`.
//! Keys are deliberately not in it: the blobs are sealed and the data keys
//! wrapped, so a backup without the master keyring opens nothing. Keep the
//! keyring and the audit signing key apart from the backups.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::progress::Progress;
use crate::settings::DataArgs;
use crate::settings::DataSettings;
use crate::store_cli::with_store;
use clap::{Args, Subcommand};
use hippo_store::Store;

/// `hippo blobs …`.
#[derive(Subcommand)]
pub enum BlobsCommand {
    /// List blobs no row refers to (and rows whose blob is missing).
    Sweep {
        #[command(flatten)]
        data: DataArgs,
        /// Leave blobs younger than this alone (uploads in progress).
        #[arg(long, default_value_t = 60)]
        grace_minutes: i64,
        /// Delete the orphans found.
        #[arg(long)]
        delete: bool,
    },
}

/// `hippo backup`.
#[derive(Args)]
pub struct BackupArgs {
    #[command(flatten)]
    data: DataArgs,
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// `hippo restore`.
#[derive(Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    data: DataArgs,
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
}

pub async fn run_blobs(command: BlobsCommand) -> anyhow::Result<()> {
    match command {
        BlobsCommand::Sweep {
            data,
            grace_minutes,
            delete,
        } => {
            let report = with_store(&data, async |store, _| {
                sweep(store, grace_minutes, delete).await
            })
            .await?;
            print!("{report}");
        }
    }
    Ok(())
}

pub async fn run_backup(args: BackupArgs) -> anyhow::Result<()> {
    let manifest = with_store(&args.data, async |store, _| backup(store, &args.out).await).await?;
    println!(
        "backup in {}: database ({} audit records) and {} sealed blobs; keys are not included",
        args.out.display(),
        manifest.audit_records,
        manifest.blobs
    );
    Ok(())
}

pub async fn run_restore(args: RestoreArgs) -> anyhow::Result<()> {
    let (settings, _) = args.data.load()?;
    let manifest = restore(&args.from, &settings).await?;
    println!(
        "restored the backup of {} ({} audit records, {} blobs) into {}; run `hippo audit verify` next",
        manifest.created_at,
        manifest.audit_records,
        manifest.blobs,
        settings.data_dir.display()
    );
    Ok(())
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub created_at: String,
    pub build: String,
    pub database_sha256: String,
    pub audit_records: u64,
    pub blobs: u64,
}

const FORMAT: &str = "hippo backup v1";

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        hasher.update(&chunk[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn empty_or_absent(dir: &Path) -> anyhow::Result<bool> {
    Ok(!dir.exists() || std::fs::read_dir(dir)?.next().is_none())
}

/// Write a backup of `store` into `out` (absent or empty).
pub async fn backup(store: &Store, out: &Path) -> anyhow::Result<Manifest> {
    if !empty_or_absent(out)? {
        bail!(
            "{} is not empty; back up into a new directory",
            out.display()
        );
    }
    std::fs::create_dir_all(out.join("blobs"))?;
    let database = out.join("hippo.db");
    store
        .backup_database_into(&database)
        .await
        .context("copying the database")?;
    // The copy names the blobs it needs; copy exactly those.
    let copy = Store::open(&hippo_store::StoreOptions {
        database_url: Some(hippo_store::DatabaseUrl::new(
            database.display().to_string(),
        )),
        data_dir: out.to_path_buf(),
        build: crate::BUILD.into(),
        blob_url: Some(format!("file://{}", out.join("blobs").display())),
        blob_options: Default::default(),
        keys: None,
    })
    .await?;
    let needed = copy.unscoped_vault().recorded_blobs().await?;
    let audit_records = copy.audit_log().size().await?;
    copy.close().await;
    let source = store.unscoped_vault();
    let mut progress = Progress::new("copying blobs", needed.len());
    for (i, name) in needed.iter().enumerate() {
        let bytes = source.blobs().get(name).await?;
        let target = out.join("blobs").join(name);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&target, bytes)?;
        progress.set(i + 1);
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        created_at: hippo_core::time_util::rfc3339(hippo_core::time_util::now_millis()),
        build: crate::BUILD.into(),
        database_sha256: sha256_file(&database)?,
        audit_records,
        blobs: needed.len() as u64,
    };
    std::fs::write(
        out.join("MANIFEST.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    Ok(manifest)
}

/// Restore the backup in `from` into the (new, empty) location of
/// `settings`; checks the database against the manifest first.
pub async fn restore(from: &Path, settings: &DataSettings) -> anyhow::Result<Manifest> {
    let manifest: Manifest = serde_json::from_str(
        &std::fs::read_to_string(from.join("MANIFEST.json"))
            .with_context(|| format!("{} holds no MANIFEST.json", from.display()))?,
    )?;
    if manifest.format != FORMAT {
        bail!("unknown backup format {:?}", manifest.format);
    }
    let database = from.join("hippo.db");
    if sha256_file(&database)? != manifest.database_sha256 {
        bail!("the backup's database does not match its manifest (damaged or altered)");
    }
    if settings.database_url.is_some() {
        bail!("restore into a data directory (--data-dir), not a database URL");
    }
    let target = settings.data_dir.join("hippo.db");
    if target.exists() {
        bail!(
            "{} already holds a database; restore into a new data directory",
            settings.data_dir.display()
        );
    }
    std::fs::create_dir_all(&settings.data_dir)?;
    std::fs::copy(&database, &target)?;
    let store = Store::open(&settings.store_options()).await?;
    let blobs = store.unscoped_vault();
    let names: Vec<PathBuf> = files_under(&from.join("blobs"))?;
    let mut progress = Progress::new("restoring blobs", names.len());
    for (i, path) in names.iter().enumerate() {
        let name = path
            .strip_prefix(from.join("blobs"))?
            .to_str()
            .context("blob name is not UTF-8")?
            .to_owned();
        blobs.blobs().put(&name, std::fs::read(path)?).await?;
        progress.set(i + 1);
    }
    let report = blobs.sweep(0).await?;
    store.close().await;
    if !report.missing.is_empty() {
        bail!(
            "restored, but {} blobs the database refers to are missing from the backup",
            report.missing.len()
        );
    }
    Ok(manifest)
}

/// Every file under `dir`, recursively, in name order.
pub fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// `hippo blobs sweep`: report (and with `delete`, remove) orphans.
pub async fn sweep(store: &Store, grace_minutes: i64, delete: bool) -> anyhow::Result<String> {
    let vault = store.unscoped_vault();
    let report = vault.sweep(grace_minutes * 60_000).await?;
    let mut out = format!(
        "{} blobs in {}; {} orphans (older than {grace_minutes} min, referred to by no row); {} missing\n",
        report.stored,
        vault.blobs().location,
        report.orphans.len(),
        report.missing.len()
    );
    for name in &report.orphans {
        out.push_str(&format!("orphan  {name}\n"));
    }
    for name in &report.missing {
        out.push_str(&format!("MISSING {name}\n"));
    }
    if delete {
        for name in &report.orphans {
            vault.blobs().delete(name).await?;
        }
        out.push_str(&format!("deleted {} orphans\n", report.orphans.len()));
    }
    Ok(out)
}
