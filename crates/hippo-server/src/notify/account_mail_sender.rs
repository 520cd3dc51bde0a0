//! Sending the mails about one's own account (issue 12: new device,
//! password reset) from their own outbox, over the notification sender's
//! SMTP transport. Their text was made when they were enqueued.

use hippo_core::time_util::now_millis;
use hippo_store::{AuthStore, ClaimedAccountMail, StoreError};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, SinglePart};
use lettre::{AsyncTransport, Message};
use rand::Rng;

use super::sender::Sender;

impl Sender {
    /// One round over the account mails; how many were claimed.
    pub(super) async fn run_account_mails_once(
        &self,
        store: &AuthStore,
    ) -> Result<usize, StoreError> {
        let lease_ms = self.config().lease.as_millis() as i64;
        let claimed = store
            .claim_account_mails(self.config().batch.max(1), lease_ms, now_millis())
            .await?;
        for mail in &claimed {
            match self.send_account_mail(mail).await {
                Ok(()) => store.mark_account_mail_sent(mail, now_millis()).await?,
                Err((error, permanent)) => {
                    let give_up = permanent || mail.attempts >= self.config().max_attempts;
                    let retry_at = (!give_up).then(|| {
                        let wait = self.config().backoff(mail.attempts).as_millis() as i64;
                        let jitter = rand::rng().random_range(0..=wait / 10);
                        now_millis() + wait + jitter
                    });
                    tracing::warn!(key = %mail.key, attempts = mail.attempts, error = %error, "account mail not delivered");
                    store
                        .mark_account_mail_failed(mail, &error, retry_at, now_millis())
                        .await?;
                }
            }
        }
        Ok(claimed.len())
    }

    async fn send_account_mail(&self, mail: &ClaimedAccountMail) -> Result<(), (String, bool)> {
        let to = mail
            .recipient
            .parse::<Mailbox>()
            .map_err(|e| (format!("recipient address: {e}"), true))?;
        let message = Message::builder()
            .from(self.from().clone())
            .to(to)
            .subject(mail.mail_subject.clone())
            .message_id(Some(format!("<{}@{}>", mail.key, self.message_domain())))
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.body.clone()),
            )
            .map_err(|e| (format!("building the mail: {e}"), true))?;
        self.transport()
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| (hippo_store::chain(&e), e.is_permanent()))
    }
}
