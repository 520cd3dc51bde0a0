//! The sender: claims due notifications, sends each over SMTP with its
//! outbox key as Message-ID, and marks it sent, due again after a backoff,
//! or failed for good. Any number of senders may share one database (the
//! claim is atomic); one that stops mid-send leaves its rows to expire
//! into `unknown`, from where they are sent again with the same key.

use futures_util::StreamExt;
use hippo_store::{ClaimedNotice, StoreError, UnscopedOutbox};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rand::Rng;
use secrecy::ExposeSecret;

use super::mail::{INVITATION_SUBJECT, NOTICE_SUBJECT, invitation_text, notice_text};
use super::{NotifyConfig, SmtpSecurity};
use hippo_store::NoticeKind;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("invalid sender address {address:?}")]
    From {
        address: String,
        #[source]
        cause: lettre::address::AddressError,
    },
    #[error("cannot set up the SMTP transport to {host}")]
    Transport {
        host: String,
        #[source]
        cause: lettre::transport::smtp::Error,
    },
    #[error("invalid base URL for the login link")]
    BaseUrl(#[source] url::ParseError),
}

/// Why one notification was not delivered this time.
struct Undelivered {
    error: String,
    /// The server refused for good (5xx), or the mail cannot be built.
    permanent: bool,
}

pub struct Sender {
    outbox: UnscopedOutbox,
    config: NotifyConfig,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    login_url: String,
    /// Where staff invitations lead: `<base_url>/invitation`.
    invitation_url: url::Url,
    /// The right-hand side of every Message-ID: the portal's host.
    message_domain: String,
    /// The outbox of mails about one's own account (issue 12), if this
    /// sender drains it too.
    account_mails: Option<hippo_store::AuthStore>,
}

impl Sender {
    pub fn new(outbox: UnscopedOutbox, config: NotifyConfig) -> Result<Self, SendError> {
        let from = config
            .from
            .parse::<Mailbox>()
            .map_err(|cause| SendError::From {
                address: config.from.clone(),
                cause,
            })?;
        let login_url = config
            .base_url
            .join("login")
            .map_err(SendError::BaseUrl)?
            .to_string();
        let invitation_url = config
            .base_url
            .join("invitation")
            .map_err(SendError::BaseUrl)?;
        let message_domain = config
            .base_url
            .host_str()
            .unwrap_or("hippo.invalid")
            .to_owned();
        let host = config.smtp_host.as_str();
        let transport_error = |cause| SendError::Transport {
            host: host.to_owned(),
            cause,
        };
        let builder = match config.smtp_security {
            SmtpSecurity::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(transport_error)?,
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(transport_error)?
            }
        };
        let mut builder = builder
            .port(config.smtp_port)
            .timeout(Some(config.smtp_timeout))
            .hello_name(ClientId::Domain(message_domain.clone()))
            .pool_config(PoolConfig::new().max_size(config.concurrency.max(1) as u32));
        if let (Some(user), Some(password)) = (&config.smtp_username, &config.smtp_password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        if config.smtp_security == SmtpSecurity::Plain
            && !matches!(host, "127.0.0.1" | "::1" | "localhost")
        {
            tracing::warn!(host, "notifications go out over unencrypted SMTP");
        }
        Ok(Self {
            outbox,
            transport: builder.build(),
            config,
            from,
            login_url,
            invitation_url,
            message_domain,
            account_mails: None,
        })
    }

    /// Drain the account mails (new device, password reset) as well.
    pub fn with_account_mails(mut self, store: hippo_store::AuthStore) -> Self {
        self.account_mails = Some(store);
        self
    }

    pub(super) fn config(&self) -> &NotifyConfig {
        &self.config
    }

    pub(super) fn from(&self) -> &Mailbox {
        &self.from
    }

    pub(super) fn message_domain(&self) -> &str {
        &self.message_domain
    }

    pub(super) fn transport(&self) -> &AsyncSmtpTransport<Tokio1Executor> {
        &self.transport
    }

    /// One round: expire stale leases, claim a batch, send it, record the
    /// outcomes. Returns how many notifications were claimed.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let account_mails = match &self.account_mails {
            Some(store) => self.run_account_mails_once(store).await?,
            None => 0,
        };
        Ok(account_mails + self.run_notifications_once().await?)
    }

    async fn run_notifications_once(&self) -> Result<usize, StoreError> {
        let (unknown, failed) = self.outbox.expire_leases(self.config.max_attempts).await?;
        if unknown > 0 {
            tracing::warn!(
                unknown,
                "notifications whose sender stopped mid-send will be sent again with the same Message-ID"
            );
        }
        if failed > 0 {
            tracing::error!(
                failed,
                "notifications failed for good (outcome of their last attempt unknown); see `hippo outbox status`"
            );
        }
        let claimed = self
            .outbox
            .claim(self.config.batch.max(1), self.config.lease)
            .await?;
        // Futures made by an iterator, not a stream's closure: a closure
        // over borrowed notices is not general enough for the spawned task.
        let sends: Vec<_> = claimed
            .iter()
            .map(|notice| async move { (notice, self.send(notice).await) })
            .collect();
        let outcomes: Vec<(&ClaimedNotice, Result<(), Undelivered>)> =
            futures_util::stream::iter(sends)
                .buffer_unordered(self.config.concurrency.max(1))
                .collect()
                .await;
        let (delivered, undelivered): (Vec<_>, Vec<_>) = outcomes
            .into_iter()
            .partition(|(_, outcome)| outcome.is_ok());
        // Deliveries first: until they are recorded, a crash would send
        // them again.
        let delivered: Vec<&ClaimedNotice> = delivered.into_iter().map(|(n, _)| n).collect();
        let marked = self.outbox.mark_sent(&delivered).await?;
        if marked < delivered.len() as u64 {
            tracing::warn!(
                delivered = delivered.len(),
                marked,
                "some leases ran out before their delivery was recorded; those are sent again with the same Message-ID"
            );
        }
        for (notice, outcome) in undelivered {
            if let Err(undelivered) = outcome {
                self.record_failure(notice, undelivered).await?;
            }
        }
        Ok(claimed.len())
    }

    async fn record_failure(
        &self,
        notice: &ClaimedNotice,
        undelivered: Undelivered,
    ) -> Result<(), StoreError> {
        let give_up = undelivered.permanent || notice.attempts >= self.config.max_attempts;
        let retry_at = if give_up {
            None
        } else {
            let wait = self.config.backoff(notice.attempts);
            // Up to a tenth more, so that senders that failed together do
            // not all retry in the same millisecond.
            let jitter = rand::rng().random_range(0..=wait.as_millis() as u64 / 10);
            Some(hippo_core::time_util::now_millis() + wait.as_millis() as i64 + jitter as i64)
        };
        self.outbox
            .mark_attempt_failed(notice, &undelivered.error, retry_at)
            .await?;
        if give_up {
            tracing::error!(
                key = %notice.key,
                attempts = notice.attempts,
                error = %undelivered.error,
                "notification failed for good; see `hippo outbox status`"
            );
        } else {
            tracing::warn!(
                key = %notice.key,
                attempts = notice.attempts,
                error = %undelivered.error,
                "notification not delivered; will retry"
            );
        }
        Ok(())
    }

    async fn send(&self, notice: &ClaimedNotice) -> Result<(), Undelivered> {
        let message = self.message(notice).map_err(|error| Undelivered {
            error,
            permanent: true,
        })?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| Undelivered {
                error: hippo_store::chain(&e),
                permanent: e.is_permanent(),
            })
    }

    /// The mail for `notice`: neutral subject, the login link, and the
    /// outbox key as Message-ID, the same on every attempt.
    fn message(&self, notice: &ClaimedNotice) -> Result<Message, String> {
        let to = notice
            .recipient
            .parse::<Mailbox>()
            .map_err(|e| format!("recipient address: {e}"))?;
        let (subject, body) = match notice.kind {
            NoticeKind::StaffInvitation => {
                let token = notice
                    .link_token
                    .as_deref()
                    .ok_or("an invitation without its token")?;
                let mut link = self.invitation_url.clone();
                link.query_pairs_mut().append_pair("token", token);
                (INVITATION_SUBJECT, invitation_text(notice, link.as_str()))
            }
            NoticeKind::FindingReleased | NoticeKind::NewMessage => {
                (NOTICE_SUBJECT, notice_text(notice, &self.login_url))
            }
        };
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(message_id(notice, &self.message_domain)))
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(body),
            )
            .map_err(|e| format!("building the mail: {e}"))
    }
}

/// `<outbox key@portal host>`.
pub(super) fn message_id(notice: &ClaimedNotice, domain: &str) -> String {
    format!("<{}@{domain}>", notice.key)
}

/// Drain the outbox for as long as the server runs.
pub fn spawn(sender: Sender) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sender.run_once().await {
                // A full batch: more may be due at once.
                Ok(n) if n >= sender.config.batch.max(1) as usize => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %hippo_store::chain(&e), "notification outbox unavailable");
                }
            }
            tokio::time::sleep(sender.config.poll_every).await;
        }
    })
}
