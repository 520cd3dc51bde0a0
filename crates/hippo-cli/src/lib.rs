//! The pieces of the `hippo` binary that tests also use: settings and the
//! demo data set.

pub mod audit_cli;
pub mod demo;
pub mod export;
pub mod forensics_cli;
pub mod incident_cli;
pub mod keys_cli;
pub mod progress;
pub mod settings;
pub mod storage_cli;

/// Version and git revision of this build.
pub const BUILD: &str = env!("HIPPO_BUILD");
