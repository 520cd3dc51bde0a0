//! `hippo outbox`: the notification outbox for operators (issue 11) — how
//! many notifications are pending, being sent, of unknown outcome, sent,
//! and failed for good; forgetting old sent ones; and the per-tenant choice of naming the facility
//! in notification e-mails. The `[notifications]` settings of `hippo
//! serve` (SMTP server, sender, base URL) are read here too.

use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use serde::Deserialize;

use crate::settings::DataArgs;
use crate::store_cli::with_store;

#[derive(Subcommand)]
pub enum OutboxCommand {
    /// Notifications per state; `failed` ones gave up after their last
    /// attempt and need an operator (exit code 2 if there are any).
    Status {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Delete notifications sent more than DAYS days ago (their recipient
    /// address is the only personal data in the outbox); failed ones stay.
    Purge {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// Whether a tenant's notification e-mails name the facility (default
    /// off: only "log in to Hippo"). Audited.
    FacilityName {
        #[command(flatten)]
        data: DataArgs,
        /// The tenant's ID.
        tenant: String,
        /// `on` or `off`.
        #[arg(value_parser = ["on", "off"])]
        setting: String,
    },
}

pub async fn run(command: OutboxCommand) -> anyhow::Result<()> {
    match command {
        OutboxCommand::Status { data } => {
            let counts = with_store(&data, async |store, _| {
                Ok(store.unscoped_outbox().counts().await?)
            })
            .await?;
            println!(
                "pending {}\nsending {}\nunknown {}\nsent {}\nfailed {}",
                counts.pending, counts.sending, counts.unknown, counts.sent, counts.failed
            );
            if counts.failed > 0 {
                eprintln!(
                    "{} notification(s) failed for good; their last error is in notification_outbox.last_error",
                    counts.failed
                );
                std::process::exit(2);
            }
            Ok(())
        }
        OutboxCommand::Purge { data, days } => {
            let before =
                hippo_core::time_util::now_millis() - i64::from(days) * 24 * 60 * 60 * 1000;
            let purged = with_store(&data, async |store, _| {
                Ok(store.unscoped_outbox().purge_sent(before).await?)
            })
            .await?;
            println!("deleted {purged} notification(s) sent more than {days} days ago");
            Ok(())
        }
        OutboxCommand::FacilityName {
            data,
            tenant,
            setting,
        } => {
            let id = tenant
                .parse()
                .map_err(|_| anyhow::anyhow!("not a tenant ID: {tenant}"))?;
            let on = setting == "on";
            with_store(&data, async |store, _| {
                store
                    .unscoped_provisioning()
                    .set_notify_with_facility_name(id, on)
                    .await
                    .with_context(|| format!("no tenant {tenant}"))
            })
            .await?;
            println!("notifications of tenant {tenant} name the facility: {setting}");
            Ok(())
        }
    }
}

/// `[notifications]` in the configuration file. The SMTP password comes
/// from `HIPPO_SMTP_PASSWORD` only, never from the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettings {
    pub smtp_host: String,
    pub smtp_port: Option<u16>,
    /// `starttls` (default), `tls`, or `plain` (loopback relays only).
    pub smtp_security: Option<String>,
    pub smtp_username: Option<String>,
    /// e.g. `Hippo <noreply@hippo.example>`.
    pub from: String,
    /// The portal's public URL; mails link to `<base_url>/login`.
    pub base_url: String,
    pub max_attempts: Option<u32>,
    pub backoff_base_secs: Option<u64>,
    pub backoff_cap_secs: Option<u64>,
    pub lease_secs: Option<u64>,
    pub batch: Option<u32>,
}

impl NotificationSettings {
    pub fn notify_config(&self) -> anyhow::Result<hippo_server::notify::NotifyConfig> {
        use hippo_server::notify::{NotifyConfig, SmtpSecurity};
        let security = match self.smtp_security.as_deref() {
            None => SmtpSecurity::StartTls,
            Some(s) => SmtpSecurity::parse(s).with_context(|| {
                format!("notifications.smtp_security must be starttls, tls or plain, not {s:?}")
            })?,
        };
        let default_port = match security {
            SmtpSecurity::Plain => 25,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
        };
        let base_url = url::Url::parse(&self.base_url)
            .with_context(|| format!("notifications.base_url {:?}", self.base_url))?;
        let mut config = NotifyConfig::new(
            &self.smtp_host,
            self.smtp_port.unwrap_or(default_port),
            &self.from,
            base_url,
        );
        config.smtp_security = security;
        config.smtp_username = self.smtp_username.clone();
        config.smtp_password = std::env::var("HIPPO_SMTP_PASSWORD")
            .ok()
            .map(secrecy::SecretString::from);
        if let Some(n) = self.max_attempts {
            config.max_attempts = n.max(1);
        }
        if let Some(s) = self.backoff_base_secs {
            config.backoff_base = Duration::from_secs(s);
        }
        if let Some(s) = self.backoff_cap_secs {
            config.backoff_cap = Duration::from_secs(s);
        }
        if let Some(s) = self.lease_secs {
            config.lease = Duration::from_secs(s.max(1));
        }
        if let Some(n) = self.batch {
            config.batch = n.max(1);
        }
        Ok(config)
    }
}
