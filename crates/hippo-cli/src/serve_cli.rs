//! `hippo serve`, `hippo demo` and `hippo migrate`: the portal's server
//! settings (flags over the configuration file over defaults), start-up
//! and the demo's summary.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use hippo_server::ServerConfig;

use crate::demo;
use crate::hl7_cli::Hl7Args;
use crate::settings::{DataArgs, FileSettings};
use crate::store_cli::{OpenedStore, open, with_store};

#[derive(Args)]
pub struct HttpArgs {
    /// Address to listen on; port 0 picks a free port (the URL is printed).
    #[arg(long, env = "HIPPO_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Mark session cookies Secure; set this whenever Hippo is behind HTTPS.
    #[arg(long, env = "HIPPO_COOKIE_SECURE")]
    cookie_secure: bool,
    /// Largest accepted PDF upload, in MiB.
    #[arg(long, env = "HIPPO_MAX_UPLOAD_MIB", value_name = "MIB")]
    max_upload_mib: Option<usize>,
    /// Proxies whose X-Forwarded-For / Forwarded headers name the client
    /// (comma-separated CIDR blocks, e.g. `127.0.0.1/32,::1/128`); default
    /// none: the headers are ignored.
    #[arg(long, env = "HIPPO_TRUSTED_PROXIES", value_name = "CIDRS")]
    trusted_proxies: Option<String>,
}

/// `hippo serve`.
#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    hl7: Hl7Args,
}

/// `hippo demo`.
#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    hl7: Hl7Args,
    /// Write the demo logins (JSON) to this file.
    #[arg(long, value_name = "FILE")]
    credentials_out: Option<PathBuf>,
}

/// `hippo migrate`.
#[derive(Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    data: DataArgs,
}

pub async fn run_migrate(args: MigrateArgs) -> anyhow::Result<()> {
    // Opening the store migrates it.
    let data_dir = with_store(&args.data, async |_, settings| {
        Ok(settings.data_dir.clone())
    })
    .await?;
    println!("database in {} is up to date", data_dir.display());
    Ok(())
}

pub async fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    let OpenedStore {
        store,
        settings,
        file,
    } = open(&args.data).await?;
    let key = settings.load_audit_key()?;
    let server =
        hippo_server::start(store, server_config(&args.http, &args.hl7, &file, key)?).await?;
    println!("Hippo {} listening on {}", crate::BUILD, server.url());
    if let Some(mllp) = server.mllp_addr {
        println!("MLLP (HL7 v2) listening on {mllp}");
    }
    server.serve_until_signal().await?;
    Ok(())
}

pub async fn run_demo(args: DemoArgs) -> anyhow::Result<()> {
    let OpenedStore {
        store,
        settings,
        file,
    } = open(&args.data).await?;
    settings.init_audit_key()?;
    settings.init_master_keyring()?;
    let key = settings.load_audit_key()?;
    let world = demo::seed_or_reuse(&store, &settings.data_dir).await?;
    let server =
        hippo_server::start(store, server_config(&args.http, &args.hl7, &file, key)?).await?;
    let credentials = world.credentials(server.url());
    if let Some(path) = &args.credentials_out {
        demo::write_private(path, &serde_json::to_string_pretty(&credentials)?)?;
    }
    print_demo_summary(&credentials, args.credentials_out.as_deref());
    server.serve_until_signal().await?;
    Ok(())
}

fn server_config(
    http: &HttpArgs,
    hl7: &Hl7Args,
    file: &FileSettings,
    audit_key: hippo_audit::AuditSigningKey,
) -> anyhow::Result<ServerConfig> {
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
    let notifications = file
        .notifications
        .as_ref()
        .map(crate::outbox_cli::NotificationSettings::notify_config)
        .transpose()?;
    let retrieval = hippo_server::config::RetrievalConfig {
        code_validity: file
            .retrieval_code_days
            .map_or(defaults.retrieval.code_validity, |d| {
                Duration::from_secs(u64::from(d.max(1)) * 24 * 60 * 60)
            }),
        max_attempts: file
            .retrieval_code_attempts
            .unwrap_or(defaults.retrieval.max_attempts),
        attempts_per_client_per_minute: file
            .retrieval_attempts_per_client_per_minute
            .unwrap_or(defaults.retrieval.attempts_per_client_per_minute),
        public_url: file.public_url.clone(),
        ..defaults.retrieval.clone()
    };
    let trusted_proxies = match http
        .trusted_proxies
        .as_ref()
        .or(file.trusted_proxies.as_ref())
    {
        Some(list) => hippo_server::client_addr::parse_trusted_proxies(list)
            .map_err(|e| anyhow::anyhow!("trusted proxies: {e}"))?,
        None => defaults.trusted_proxies.clone(),
    };
    Ok(ServerConfig {
        public_origin: file.public_origin.clone(),
        limits,
        trusted_proxies,
        api_key_max_validity_days: file
            .api_key_max_validity_days
            .unwrap_or(defaults.api_key_max_validity_days),
        notifications,
        retrieval,
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
        audit_key: Some(Arc::new(audit_key)),
        messaging: hippo_core::messaging::MessageLimits {
            max_body_chars: file
                .max_message_chars
                .unwrap_or(defaults.messaging.max_body_chars),
            max_attachments: file
                .max_attachments
                .unwrap_or(defaults.messaging.max_attachments),
            max_attachment_bytes: file
                .max_attachment_mib
                .map_or(defaults.messaging.max_attachment_bytes, |m| m * 1024 * 1024),
        },
        hl7: hl7.config()?,
        switch_four_eyes: file.switch_four_eyes.unwrap_or(defaults.switch_four_eyes),
        switch_poll_every: file
            .switch_poll_ms
            .map_or(defaults.switch_poll_every, Duration::from_millis),
        ..defaults
    })
}

fn print_demo_summary(credentials: &demo::DemoCredentials, out: Option<&Path>) {
    println!("Hippo demo is running at {}", credentials.url);
    println!();
    println!("{:<42} {:<18} {:<14}", "e-mail", "password", "role");
    for user in &credentials.users {
        println!("{:<42} {:<18} {:<14}", user.email, user.password, user.role);
    }
    if !credentials.retrieval_codes.is_empty() {
        println!();
        println!("Retrieval codes ({}/retrieve):", credentials.url);
        for code in &credentials.retrieval_codes {
            println!("  {}  date of birth {}", code.code, code.date_of_birth);
        }
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
