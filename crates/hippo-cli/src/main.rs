//! `hippo`: the one binary. Serves the portal, seeds a demo, migrates.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hippo_cli::demo;
use hippo_cli::settings::{DataArgs, FileSettings};
use hippo_server::ServerConfig;
use hippo_store::Store;

#[derive(Parser)]
#[command(name = "hippo", version = hippo_cli::BUILD, about = "Hippo: a secure findings-and-messaging portal for medical facilities and their patients.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal (web UI and JSON API).
    Serve(ServeArgs),
    /// Seed demo facilities, staff, patients and findings, then serve them.
    ///
    /// Reuses the data directory if it was seeded before. Prints the URL and
    /// writes all demo logins to --credentials-out.
    Demo(DemoArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(MigrateArgs),
    /// Manage keys: the audit signing key and the master keyring.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Tenants: `hippo tenant delete` removes one and destroys its data key.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// The sealed blob store: find orphans.
    #[command(subcommand)]
    Blobs(BlobsCommand),
    /// Write a consistent backup (database and sealed blobs, no keys) into
    /// a new directory while the server keeps running.
    Backup {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Restore a backup into a new, empty data directory. The master keyring
    /// and audit key are not in backups: provide them as usual.
    Restore {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
    },
    /// The tamper-evident audit log: verify, head, prove.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Forensic questions to the audit log: who accessed what, when.
    #[command(subcommand)]
    Forensics(ForensicsCommand),
    /// Incident records, timelines and notification drafts.
    #[command(subcommand)]
    Incident(IncidentCommand),
}

#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum IncidentCommand {
    /// Open an incident; its affected tenants and patients are the blast
    /// radius of the given filter (window, routes, actions, builds).
    Open {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        title: String,
        /// When the incident was detected (RFC 3339); default now. The
        /// 72-hour notification deadline runs from here.
        #[arg(long)]
        detected_at: Option<String>,
        #[command(flatten)]
        filter: hippo_cli::forensics_cli::FilterArgs,
    },
    /// Add a timeline entry.
    Note {
        #[command(flatten)]
        data: DataArgs,
        id: String,
        text: String,
    },
    /// Show the incident: deadline clock, timeline, affected records.
    Show {
        #[command(flatten)]
        data: DataArgs,
        id: String,
    },
    /// Draft notices per affected facility and letters per affected patient,
    /// in German and English, into a directory.
    Notices {
        #[command(flatten)]
        data: DataArgs,
        id: String,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum ForensicsCommand {
    /// Accesses by actor, patient, tenant, action, route or build, in a window.
    Accesses {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        filter: hippo_cli::forensics_cli::FilterArgs,
    },
    /// Every access in the window by someone who was neither the patient's
    /// own account nor staff of the patient's facility, by tenant and patient.
    BlastRadius {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        filter: hippo_cli::forensics_cli::FilterArgs,
    },
    /// Run the anomaly rules over history (window by window) and list the
    /// alerts they raise (also stored for the operator API).
    Anomalies {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        filter: hippo_cli::forensics_cli::FilterArgs,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create the audit log's ed25519 signing key and the master keyring
    /// (never overwrites either).
    Init(MigrateArgs),
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

#[derive(Subcommand)]
enum TenantCommand {
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

#[derive(Subcommand)]
enum BlobsCommand {
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

// Parsed once per run; the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum AuditCommand {
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
        filter: hippo_cli::forensics_cli::FilterArgs,
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

#[derive(Args)]
struct HttpArgs {
    /// Address to listen on; port 0 picks a free port (the URL is printed).
    #[arg(long, env = "HIPPO_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Mark session cookies Secure; set this whenever Hippo is behind HTTPS.
    #[arg(long, env = "HIPPO_COOKIE_SECURE")]
    cookie_secure: bool,
    /// Largest accepted PDF upload, in MiB.
    #[arg(long, env = "HIPPO_MAX_UPLOAD_MIB", value_name = "MIB")]
    max_upload_mib: Option<usize>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    http: HttpArgs,
}

#[derive(Args)]
struct DemoArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    http: HttpArgs,
    /// Write the demo logins (JSON) to this file.
    #[arg(long, value_name = "FILE")]
    credentials_out: Option<PathBuf>,
}

#[derive(Args)]
struct MigrateArgs {
    #[command(flatten)]
    data: DataArgs,
}

fn server_config(
    http: &HttpArgs,
    file: &FileSettings,
    audit_key: hippo_audit::AuditSigningKey,
) -> ServerConfig {
    let defaults = ServerConfig::default();
    let limits = hippo_server::serve::Limits {
        max_connections: file
            .max_connections
            .unwrap_or(defaults.limits.max_connections),
        max_in_flight: file.max_in_flight.unwrap_or(defaults.limits.max_in_flight),
        admission_wait: file
            .admission_wait_ms
            .map_or(defaults.limits.admission_wait, Duration::from_millis),
        header_timeout: file
            .header_timeout_secs
            .map_or(defaults.limits.header_timeout, Duration::from_secs),
        body_timeout: file
            .body_timeout_secs
            .map_or(defaults.limits.body_timeout, Duration::from_secs),
    };
    ServerConfig {
        limits,
        tree_head_every_records: file
            .tree_head_every_records
            .unwrap_or(defaults.tree_head_every_records),
        tree_head_every: file
            .tree_head_every_ms
            .map_or(defaults.tree_head_every, Duration::from_millis),
        login_attempts_per_client_per_minute: file
            .login_attempts_per_client_per_minute
            .unwrap_or(defaults.login_attempts_per_client_per_minute),
        listen: http.listen.or(file.listen).unwrap_or(defaults.listen),
        cookie_secure: http.cookie_secure || file.cookie_secure.unwrap_or(false),
        max_upload_bytes: http
            .max_upload_mib
            .or(file.max_upload_mib)
            .map_or(defaults.max_upload_bytes, |m| m * 1024 * 1024),
        audit_key: Some(std::sync::Arc::new(audit_key)),
        ..defaults
    }
}

async fn open_store(
    data: &DataArgs,
    file: &FileSettings,
) -> anyhow::Result<(Store, hippo_cli::settings::DataSettings)> {
    let settings = data.resolve(file);
    let store = Store::open(&settings.store_options())
        .await
        .with_context(|| {
            format!(
                "cannot open the database in {}",
                settings.data_dir.display()
            )
        })?;
    Ok((store, settings))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HIPPO_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Migrate(args) => {
            let file = FileSettings::load(args.data.config.as_deref())?;
            let (store, settings) = open_store(&args.data, &file).await?;
            store.close().await;
            println!("database in {} is up to date", settings.data_dir.display());
        }
        Command::Keys(KeysCommand::Init(args)) => {
            let file = FileSettings::load(args.data.config.as_deref())?;
            let settings = args.data.resolve(&file);
            let created = settings.init_audit_key()?;
            let key = settings.load_audit_key()?;
            let keyring_created = settings.init_master_keyring()?;
            println!(
                "{} master keyring {} (keep it apart from backups)",
                if keyring_created {
                    "created"
                } else {
                    "kept the existing"
                },
                settings.master_keyring.display()
            );
            println!(
                "{} audit signing key {}\npublic key: {}",
                if created {
                    "created"
                } else {
                    "kept the existing"
                },
                settings.audit_key.display(),
                key.public_hex()
            );
        }
        Command::Audit(command) => {
            let data = match &command {
                AuditCommand::Verify { data, .. }
                | AuditCommand::Head { data, .. }
                | AuditCommand::Export { data, .. }
                | AuditCommand::Prove { data, .. } => data,
            };
            let file = FileSettings::load(data.config.as_deref())?;
            let (store, settings) = open_store(data, &file).await?;
            match &command {
                AuditCommand::Verify { public_key, .. } => {
                    hippo_cli::audit_cli::verify(&store, &settings, public_key.as_deref()).await?
                }
                AuditCommand::Head { issue, .. } => {
                    hippo_cli::audit_cli::head(&store, &settings, *issue).await?
                }
                AuditCommand::Export {
                    filter, fhir, out, ..
                } => {
                    let mut filter_values = filter.filter()?;
                    filter_values.limit = Some(1_000_000);
                    let records = store.unscoped_forensics().accesses(&filter_values).await?;
                    match out {
                        Some(path) => {
                            let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
                            hippo_cli::export::write(&records, *fhir, &mut file)?;
                            eprintln!("wrote {} records to {}", records.len(), path.display());
                        }
                        None => hippo_cli::export::write(
                            &records,
                            *fhir,
                            &mut std::io::stdout().lock(),
                        )?,
                    }
                }
                AuditCommand::Prove { record, .. } => {
                    hippo_cli::audit_cli::prove(&store, &settings, record).await?
                }
            }
            store.close().await;
        }
        Command::Forensics(command) => {
            let (data, filter) = match &command {
                ForensicsCommand::Accesses { data, filter }
                | ForensicsCommand::BlastRadius { data, filter }
                | ForensicsCommand::Anomalies { data, filter } => (data, filter),
            };
            let file = FileSettings::load(data.config.as_deref())?;
            let (store, _) = open_store(data, &file).await?;
            let out = match command {
                ForensicsCommand::Accesses { .. } => {
                    hippo_cli::forensics_cli::accesses(&store, filter).await?
                }
                ForensicsCommand::BlastRadius { .. } => {
                    hippo_cli::forensics_cli::blast_radius(&store, filter).await?
                }
                ForensicsCommand::Anomalies { .. } => {
                    hippo_cli::forensics_cli::anomalies(&store, filter).await?
                }
            };
            println!("{out}");
            store.close().await;
        }
        Command::Incident(command) => {
            let data = match &command {
                IncidentCommand::Open { data, .. }
                | IncidentCommand::Note { data, .. }
                | IncidentCommand::Show { data, .. }
                | IncidentCommand::Notices { data, .. } => data,
            };
            let file = FileSettings::load(data.config.as_deref())?;
            let (store, _) = open_store(data, &file).await?;
            let incidents = store.unscoped_incidents();
            match &command {
                IncidentCommand::Open {
                    title,
                    detected_at,
                    filter,
                    ..
                } => {
                    let detected = match detected_at {
                        Some(t) => hippo_core::time_util::parse_rfc3339(t).with_context(|| {
                            format!("--detected-at {t:?} is not an RFC 3339 time")
                        })?,
                        None => hippo_core::time_util::now_millis(),
                    };
                    let (id, radius) = incidents.open(title, detected, &filter.filter()?).await?;
                    println!(
                        "opened incident {id}: {} unauthorised accesses to {} patients in {} facilities",
                        radius.accesses,
                        radius
                            .tenants
                            .iter()
                            .map(|t| t.patients.len())
                            .sum::<usize>(),
                        radius.tenants.len()
                    );
                }
                IncidentCommand::Note { id, text, .. } => {
                    incidents.add_event(id, text).await?;
                    println!("added to the timeline of {id}");
                }
                IncidentCommand::Show { id, .. } => {
                    println!(
                        "{}",
                        hippo_cli::incident_cli::show(&incidents.get(id).await?)
                    );
                }
                IncidentCommand::Notices { id, out, .. } => {
                    let n = hippo_cli::incident_cli::write_notices(&incidents.get(id).await?, out)?;
                    println!("wrote {n} drafts to {}", out.display());
                }
            }
            store.close().await;
        }
        Command::Keys(KeysCommand::Rotate { data, retire }) => {
            let file = FileSettings::load(data.config.as_deref())?;
            let (store, settings) = open_store(&data, &file).await?;
            print!(
                "{}",
                hippo_cli::keys_cli::rotate(&store, &settings, retire).await?
            );
            store.close().await;
        }
        Command::Tenant(TenantCommand::Delete { data, id, confirm }) => {
            let file = FileSettings::load(data.config.as_deref())?;
            let (store, _) = open_store(&data, &file).await?;
            println!(
                "{}",
                hippo_cli::keys_cli::delete_tenant(&store, &id, &confirm).await?
            );
            store.close().await;
        }
        Command::Blobs(BlobsCommand::Sweep {
            data,
            grace_minutes,
            delete,
        }) => {
            let file = FileSettings::load(data.config.as_deref())?;
            let (store, _) = open_store(&data, &file).await?;
            print!(
                "{}",
                hippo_cli::storage_cli::sweep(&store, grace_minutes, delete).await?
            );
            store.close().await;
        }
        Command::Backup { data, out } => {
            let file = FileSettings::load(data.config.as_deref())?;
            let (store, _) = open_store(&data, &file).await?;
            let manifest = hippo_cli::storage_cli::backup(&store, &out).await?;
            store.close().await;
            println!(
                "backup in {}: database ({} audit records) and {} sealed blobs; keys are not included",
                out.display(),
                manifest.audit_records,
                manifest.blobs
            );
        }
        Command::Restore { data, from } => {
            let file = FileSettings::load(data.config.as_deref())?;
            let settings = data.resolve(&file);
            let manifest = hippo_cli::storage_cli::restore(&from, &settings).await?;
            println!(
                "restored the backup of {} ({} audit records, {} blobs) into {}; run `hippo audit verify` next",
                manifest.created_at,
                manifest.audit_records,
                manifest.blobs,
                settings.data_dir.display()
            );
        }
        Command::Serve(args) => {
            let file = FileSettings::load(args.data.config.as_deref())?;
            let (store, settings) = open_store(&args.data, &file).await?;
            let key = settings.load_audit_key()?;
            let server = hippo_server::start(store, server_config(&args.http, &file, key)).await?;
            println!("Hippo {} listening on {}", hippo_cli::BUILD, server.url());
            server.serve_until_signal().await?;
        }
        Command::Demo(args) => {
            let file = FileSettings::load(args.data.config.as_deref())?;
            let (store, settings) = open_store(&args.data, &file).await?;
            settings.init_audit_key()?;
            settings.init_master_keyring()?;
            let key = settings.load_audit_key()?;
            let world = demo::seed_or_reuse(&store, &settings.data_dir).await?;
            let server = hippo_server::start(store, server_config(&args.http, &file, key)).await?;
            let credentials = world.credentials(server.url());
            if let Some(path) = &args.credentials_out {
                demo::write_private(path, &serde_json::to_string_pretty(&credentials)?)?;
            }
            print_demo_summary(&credentials, args.credentials_out.as_deref());
            server.serve_until_signal().await?;
        }
    }
    Ok(())
}

fn print_demo_summary(credentials: &demo::DemoCredentials, out: Option<&std::path::Path>) {
    println!("Hippo demo is running at {}", credentials.url);
    println!();
    println!("{:<42} {:<18} {:<14}", "e-mail", "password", "role");
    for user in &credentials.users {
        println!("{:<42} {:<18} {:<14}", user.email, user.password, user.role);
    }
    if let Some(path) = out {
        println!();
        println!(
            "All logins with their patient and finding IDs: {}",
            path.display()
        );
    }
    println!();
    println!("Press Ctrl-C to stop.");
}
