//! `hippo account reset-second-factor`: an operator removes the lost
//! second factor of a staff member or operator (and their recovery
//! codes), so that their next login asks them to enrol a new one. No
//! seed ever passes through the shell: enrolment happens in the browser
//! or the API, by the person. Audited.

use clap::Subcommand;
use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_store::LoginSubject;

use crate::settings::DataArgs;
use crate::store_cli::with_store;

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Remove the second factor of one staff member or operator; they
    /// enrol a new one at their next login.
    ResetSecondFactor {
        #[command(flatten)]
        data: DataArgs,
        /// The staff member's e-mail address.
        #[arg(
            long,
            conflicts_with = "operator",
            required_unless_present = "operator"
        )]
        staff: Option<String>,
        /// The operator's e-mail address.
        #[arg(long)]
        operator: Option<String>,
    },
}

pub async fn run(command: AccountCommand) -> anyhow::Result<()> {
    match command {
        AccountCommand::ResetSecondFactor {
            data,
            staff,
            operator,
        } => {
            let (email, want_staff) = match (staff, operator) {
                (Some(email), None) => (email, true),
                (None, Some(email)) => (email, false),
                _ => anyhow::bail!("give exactly one of --staff or --operator"),
            };
            let message = with_store(&data, async |store, _| {
                let subject = store
                    .unscoped_auth()
                    .credentials(&email)
                    .await?
                    .map(|c| c.subject)
                    .filter(|s| match s {
                        LoginSubject::Staff(_) => want_staff,
                        LoginSubject::Operator(_) => !want_staff,
                        LoginSubject::Account(_) => false,
                    })
                    .ok_or_else(|| {
                        let kind = if want_staff { "staff member" } else { "operator" };
                        anyhow::anyhow!("no {kind} with the e-mail address {email}")
                    })?;
                let removed = store
                    .unscoped_second_factor()
                    .remove_second_factor(subject)
                    .await?;
                let event = AuditEvent::new(
                    Action::AccountTotpRemove,
                    ResourceKind::SecondFactor,
                    Outcome::Success,
                )
                .resource(subject.id())
                .detail(if removed {
                    "second_factor_reset"
                } else {
                    "second_factor_reset_none_enrolled"
                });
                store
                    .audit_log()
                    .append(
                        AuditActor::operator_cli(std::env::var("USER").ok()),
                        event,
                        &RequestOrigin::cli("account reset-second-factor"),
                    )
                    .await?;
                Ok(if removed {
                    format!(
                        "removed the second factor and recovery codes of {email} ({}); they enrol a new one at their next login",
                        subject.id()
                    )
                } else {
                    format!(
                        "{email} ({}) had no second factor; they enrol one at their next login",
                        subject.id()
                    )
                })
            })
            .await?;
            println!("{message}");
            Ok(())
        }
    }
}
