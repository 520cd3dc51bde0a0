//! The `hippo` binary's subcommands, one module each (arguments, `run`
//! and the work), and what tests also use: settings and the demo data set.

pub mod account_cli;
pub mod audit_cli;
pub mod demo;
pub mod export;
pub mod forensics_cli;
pub mod hl7_cli;
pub mod incident_cli;
pub mod keys_cli;
pub mod outbox_cli;
pub mod progress;
pub mod serve_cli;
pub mod settings;
pub mod storage_cli;
pub mod store_cli;
pub mod switch_cli;

/// Version and git revision of this build.
pub const BUILD: &str = env!("HIPPO_BUILD");
