//! `hippo switch …`: turn a service off or on, everywhere or for one
//! tenant, and list the switches. The change is the same one the operator
//! API makes (validated, audited with the operator and the reason, the
//! version bumped so that every running instance picks it up).

use clap::{Args, Subcommand};
use hippo_core::TenantId;
use hippo_core::switches::{Service, SwitchScope};
use hippo_core::time_util::human;
use hippo_store::{ChangeOutcome, StoreError, SwitchChange, SwitchState};

use crate::settings::DataArgs;
use crate::store_cli::open;

/// Exit code for input the command refuses (as clap uses for bad flags).
const BAD_INPUT: i32 = 2;

fn reason(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        Err("a reason is required".into())
    } else {
        Ok(trimmed.to_owned())
    }
}

#[derive(Args)]
pub struct SwitchTarget {
    #[command(flatten)]
    data: DataArgs,
    /// login, findings.read, findings.download, findings.upload, messaging,
    /// retrieval or api.
    #[arg(value_parser = |s: &str| s.parse::<Service>())]
    service: Service,
    /// One tenant's ID; without it the switch applies everywhere.
    #[arg(long)]
    tenant: Option<TenantId>,
    /// Why (internal: audit log and operators only).
    #[arg(long, value_parser = reason)]
    reason: String,
    /// Who acts, as recorded in the audit log (default: $USER).
    #[arg(long)]
    operator: Option<String>,
}

/// `hippo switch …`.
#[derive(Subcommand)]
pub enum SwitchCommand {
    /// Switch a service off; users get a maintenance page or a JSON 503.
    Off {
        #[command(flatten)]
        target: SwitchTarget,
        /// What users are told while the service is off.
        #[arg(long)]
        message: Option<String>,
    },
    /// Switch a service back on. With `switch_four_eyes = true` in the
    /// configuration, turning it on everywhere takes two operators: the
    /// first `on` records a request, a different operator's `on`
    /// (or `approve`) completes it.
    #[command(visible_alias = "approve")]
    On {
        #[command(flatten)]
        target: SwitchTarget,
    },
    /// List the switches and pending four-eyes requests.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
}

pub async fn run(command: SwitchCommand) -> anyhow::Result<()> {
    let (target, state, message) = match command {
        SwitchCommand::List { data } => return list(&data).await,
        SwitchCommand::Off { target, message } => (target, SwitchState::Off, message),
        SwitchCommand::On { target } => (target, SwitchState::On, None),
    };
    let opened = open(&target.data).await?;
    let four_eyes = opened.file.switch_four_eyes.unwrap_or(false);
    let change = SwitchChange {
        service: target.service,
        scope: target
            .tenant
            .map_or(SwitchScope::Everywhere, SwitchScope::Tenant),
        state,
        reason: target.reason,
        user_message: message,
    };
    let operator = target.operator.or_else(|| std::env::var("USER").ok());
    let outcome = opened
        .store
        .unscoped_switches()
        .change_from_cli(operator, &change, four_eyes)
        .await;
    opened.store.close().await;
    let what = format!("{} ({})", change.service, change.scope);
    match outcome {
        Ok(ChangeOutcome::Changed { old, new }) => {
            println!("{what}: {} -> {}", old.as_str(), new.as_str());
        }
        Ok(ChangeOutcome::Unchanged { state }) => {
            println!("{what}: already {}", state.as_str());
        }
        Ok(ChangeOutcome::AwaitingSecondOperator) => {
            println!("{what}: stays off until a second operator runs the same `hippo switch on`");
        }
        Ok(ChangeOutcome::Approved { requested_by }) => {
            println!("{what}: on (approved the request of {requested_by})");
        }
        Err(StoreError::Domain(refused)) => {
            eprintln!("error: {refused}");
            std::process::exit(BAD_INPUT);
        }
        Err(other) => return Err(other.into()),
    }
    Ok(())
}

async fn list(data: &DataArgs) -> anyhow::Result<()> {
    let opened = open(data).await?;
    let listing = opened.store.unscoped_switches().listing().await;
    opened.store.close().await;
    let listing = listing?;
    let off: Vec<_> = listing
        .switches
        .iter()
        .filter(|s| s.state == SwitchState::Off)
        .collect();
    if off.is_empty() {
        println!("every service is on everywhere");
    }
    for s in &listing.switches {
        let scope = SwitchScope::of(s.tenant_id);
        println!(
            "{:<18} {:<45} {:<3}  {} by {}: {}{}",
            s.service.as_str(),
            scope.to_string(),
            s.state.as_str(),
            human(s.changed_at),
            s.changed_by,
            s.reason,
            s.user_message
                .as_deref()
                .map(|m| format!(" [users read: {m}]"))
                .unwrap_or_default()
        );
    }
    for p in &listing.pending {
        println!(
            "pending: {} on everywhere, requested by {} at {}: {}",
            p.service.as_str(),
            p.requested_by,
            human(p.requested_at),
            p.reason
        );
    }
    Ok(())
}
