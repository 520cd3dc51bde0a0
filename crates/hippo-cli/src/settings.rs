//! Layered configuration: command-line flags over environment variables
//! (both via clap) over an optional TOML file over defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde::Deserialize;

/// Options shared by every subcommand that touches data.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Directory for the embedded database and other local state.
    #[arg(long, env = "HIPPO_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (`sqlite://PATH`); default: `<data-dir>/hippo.db`.
    #[arg(long, env = "HIPPO_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// TOML file with `data_dir`, `database_url`, `listen`, `cookie_secure`,
    /// `max_upload_mib`.
    #[arg(long, env = "HIPPO_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<SocketAddr>,
    pub cookie_secure: Option<bool>,
    pub max_upload_mib: Option<usize>,
}

impl FileSettings {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }
}

/// The effective data location after layering.
#[derive(Debug, Clone)]
pub struct DataSettings {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
}

impl DataArgs {
    pub fn resolve(&self, file: &FileSettings) -> DataSettings {
        DataSettings {
            data_dir: self
                .data_dir
                .clone()
                .or_else(|| file.data_dir.clone())
                .unwrap_or_else(|| PathBuf::from("./hippo-data")),
            database_url: self
                .database_url
                .clone()
                .or_else(|| file.database_url.clone()),
        }
    }
}

impl DataSettings {
    pub fn store_options(&self) -> hippo_store::StoreOptions {
        hippo_store::StoreOptions {
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            build: crate::BUILD.into(),
        }
    }
}
