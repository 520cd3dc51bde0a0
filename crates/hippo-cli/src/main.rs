//! `hippo`: the one binary. Each subcommand's arguments and its `run` live
//! beside the module that does the work; this file only dispatches.

use clap::{Parser, Subcommand};
use hippo_cli::account_cli::{self, AccountCommand};
use hippo_cli::audit_cli::{self, AuditCommand};
use hippo_cli::forensics_cli::{self, ForensicsCommand};
use hippo_cli::hl7_cli::{self, ImportCommand};
use hippo_cli::incident_cli::{self, IncidentCommand};
use hippo_cli::keys_cli::{self, KeysCommand, TenantCommand};
use hippo_cli::outbox_cli::{self, OutboxCommand};
use hippo_cli::serve_cli::{self, DemoArgs, MigrateArgs, ServeArgs};
use hippo_cli::storage_cli::{self, BackupArgs, BlobsCommand, RestoreArgs};
use hippo_cli::switch_cli::{self, SwitchCommand};

/// mimalloc instead of glibc's malloc: glibc gives busy threads arenas of
/// their own and keeps their freed memory, which doubled the server's
/// resident memory under load (measured: 192 against 103 MiB with two
/// arenas; `docs/BENCHMARKS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    Backup(BackupArgs),
    /// Restore a backup into a new, empty data directory. The master keyring
    /// and audit key are not in backups: provide them as usual.
    Restore(RestoreArgs),
    /// The tamper-evident audit log: verify, head, prove.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Forensic questions to the audit log: who accessed what, when.
    #[command(subcommand)]
    Forensics(ForensicsCommand),
    /// Incident records, timelines and notification drafts.
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// Notification e-mails: outbox status, naming the facility or not.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Service switches: turn a service off or on, everywhere or for one
    /// tenant, without a restart.
    #[command(subcommand)]
    Switch(SwitchCommand),
    /// Accounts: reset a lost second factor of staff or an operator.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Send findings from files to a running server (HL7 v2 ORU^R01).
    #[command(subcommand)]
    Import(ImportCommand),
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
        Command::Serve(args) => serve_cli::run_serve(args).await,
        Command::Demo(args) => serve_cli::run_demo(args).await,
        Command::Migrate(args) => serve_cli::run_migrate(args).await,
        Command::Keys(command) => keys_cli::run(command).await,
        Command::Tenant(command) => keys_cli::run_tenant(command).await,
        Command::Blobs(command) => storage_cli::run_blobs(command).await,
        Command::Backup(args) => storage_cli::run_backup(args).await,
        Command::Restore(args) => storage_cli::run_restore(args).await,
        Command::Audit(command) => audit_cli::run(command).await,
        Command::Forensics(command) => forensics_cli::run(command).await,
        Command::Incident(command) => incident_cli::run(command).await,
        Command::Outbox(command) => outbox_cli::run(command).await,
        Command::Switch(command) => switch_cli::run(command).await,
        Command::Account(command) => account_cli::run(command).await,
        Command::Import(command) => hl7_cli::run_import(command).await,
    }
}
