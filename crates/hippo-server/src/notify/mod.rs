//! Notification e-mails (issue 11): the sender task that drains the
//! store's outbox over SMTP, its settings, and the one text every
//! notification carries (`mail.rs`). What may and may not be in a
//! notification, and why delivery is at least once with one Message-ID per
//! notification, is said in `hippo_store::outbox`.

mod account_mail_sender;
mod mail;
mod sender;

use std::time::Duration;

use secrecy::SecretString;

pub use mail::{INVITATION_SUBJECT, NOTICE_SUBJECT, invitation_text, notice_text};
pub use sender::{SendError, Sender, spawn};

/// How the sender reaches its SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Unencrypted: only for a relay on loopback (and the tests).
    Plain,
    /// Plain connection upgraded with STARTTLS, required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl SmtpSecurity {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "plain" => Some(Self::Plain),
            "starttls" => Some(Self::StartTls),
            "tls" => Some(Self::Tls),
            _ => None,
        }
    }
}

/// Settings of the notification sender. `Debug` shows no password.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: SmtpSecurity,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<SecretString>,
    /// The sender address, e.g. `Hippo <noreply@hippo.example>`.
    pub from: String,
    /// Where patients log in; the mail links to `<base_url>/login`.
    pub base_url: url::Url,
    /// Notifications claimed at once, and sent at once of those.
    pub batch: u32,
    pub concurrency: usize,
    /// Attempts before a notification is `failed` for good.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; doubled each time, up to the cap.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How long a claim lasts. Must exceed the longest a batch can take
    /// (`smtp_timeout` × batch ÷ concurrency, a few times over): a lease
    /// that runs out mid-send lets another sender send the same
    /// notification again (with the same Message-ID).
    pub lease: Duration,
    /// Pause when nothing is due.
    pub poll_every: Duration,
    /// Timeout of each SMTP command.
    pub smtp_timeout: Duration,
}

impl NotifyConfig {
    /// Defaults for everything but the server, sender and base URL.
    pub fn new(smtp_host: &str, smtp_port: u16, from: &str, base_url: url::Url) -> Self {
        Self {
            smtp_host: smtp_host.to_owned(),
            smtp_port,
            smtp_security: SmtpSecurity::StartTls,
            smtp_username: None,
            smtp_password: None,
            from: from.to_owned(),
            base_url,
            batch: 32,
            // lettre waits ~40 ms per mail on one connection (its body and
            // final dot go out as two writes, held back by Nagle and delayed
            // ACKs; docs/BENCHMARKS.md): parallel connections make up for it.
            concurrency: 8,
            max_attempts: 10,
            backoff_base: Duration::from_secs(30),
            backoff_cap: Duration::from_secs(60 * 60),
            lease: Duration::from_secs(10 * 60),
            poll_every: Duration::from_secs(2),
            smtp_timeout: Duration::from_secs(30),
        }
    }

    /// The wait before attempt `attempts + 1`, after `attempts` failed:
    /// `backoff_base × 2^(attempts−1)`, at most `backoff_cap`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        self.backoff_base
            .saturating_mul(1u32 << doublings)
            .min(self.backoff_cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let mut config = NotifyConfig::new(
            "127.0.0.1",
            25,
            "noreply@hippo.example",
            url::Url::parse("https://hippo.example/").unwrap(),
        );
        config.backoff_base = Duration::from_secs(30);
        config.backoff_cap = Duration::from_secs(300);
        let waits: Vec<u64> = (1..=6).map(|n| config.backoff(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 300, 300]);
        assert_eq!(config.backoff(1000).as_secs(), 300);
    }

    #[test]
    fn the_password_stays_out_of_debug_output() {
        let mut config = NotifyConfig::new(
            "smtp.example",
            587,
            "noreply@hippo.example",
            url::Url::parse("https://hippo.example/").unwrap(),
        );
        config.smtp_password = Some(SecretString::from("hunter2-smtp"));
        assert!(!format!("{config:?}").contains("hunter2-smtp"));
    }
}
