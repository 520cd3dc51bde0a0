//! Layered configuration: command-line flags over environment variables
//! (both via clap) over an optional TOML file over defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use hippo_store::DatabaseUrl;
use serde::Deserialize;

/// Options shared by every subcommand that touches data.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Directory for the embedded database and other local state.
    #[arg(long, env = "HIPPO_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (`sqlite://PATH`); default: `<data-dir>/hippo.db`.
    #[arg(long, env = "HIPPO_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<DatabaseUrl>,
    /// TOML file with `data_dir`, `database_url`, `audit_key`, `listen`,
    /// `cookie_secure`, `max_upload_mib`, and the connection limits below.
    #[arg(long, env = "HIPPO_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The audit log's ed25519 signing key (hex seed), made by `hippo keys
    /// init`; default: `<data-dir>/keys/audit-signing.key`. Never stored in
    /// the database.
    #[arg(long, env = "HIPPO_AUDIT_KEY", value_name = "FILE")]
    pub audit_key: Option<PathBuf>,
    /// The master keyring that wraps the tenants' data keys, made by `hippo
    /// keys init`; default: `<data-dir>/keys/master.keyring`. Never stored
    /// in the database. `HIPPO_MASTER_KEY` (64 hex digits) replaces it with
    /// a single key from the environment.
    #[arg(long, env = "HIPPO_MASTER_KEYRING", value_name = "FILE")]
    pub master_keyring: Option<PathBuf>,
    /// Blob store: `file:///dir` or `s3://bucket` (credentials, region and
    /// endpoint from the `AWS_*` variables); default `<data-dir>/blobs`.
    #[arg(long, env = "HIPPO_BLOB_URL", value_name = "URL")]
    pub blob_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<DatabaseUrl>,
    pub audit_key: Option<PathBuf>,
    pub master_keyring: Option<PathBuf>,
    pub blob_url: Option<String>,
    pub listen: Option<SocketAddr>,
    pub cookie_secure: Option<bool>,
    pub max_upload_mib: Option<usize>,
    /// Open connections at most (capped below the open-file limit).
    pub max_connections: Option<usize>,
    /// Requests worked on at once; more wait up to `admission_wait_ms`,
    /// then get 503 with Retry-After.
    pub max_in_flight: Option<usize>,
    pub admission_wait_ms: Option<u64>,
    /// Seconds to send request headers, and to sit idle between requests.
    pub header_timeout_secs: Option<u64>,
    /// Seconds to send a request body.
    pub body_timeout_secs: Option<u64>,
    /// Proxies whose forwarding headers are believed, as CIDR blocks
    /// (`"127.0.0.1/32,::1/128"`); default none.
    pub trusted_proxies: Option<String>,
    /// Longest (and default) validity of a new API key in days (365).
    pub api_key_max_validity_days: Option<u32>,
    /// Login attempts per client address and minute (default 30).
    pub login_attempts_per_client_per_minute: Option<u32>,
    /// A signed tree head every this many records (default 1000)...
    pub tree_head_every_records: Option<u64>,
    /// ...or milliseconds (default 10,000), whichever comes first.
    pub tree_head_every_ms: Option<u64>,
    /// Messaging: characters per message body (default 20,000),
    /// attachments per message (4) and MiB per attachment (10).
    pub max_message_chars: Option<usize>,
    pub max_attachments: Option<usize>,
    pub max_attachment_mib: Option<usize>,
    /// Notification e-mails (issue 11): without this table none are sent.
    pub notifications: Option<crate::outbox_cli::NotificationSettings>,
    /// Turning a service back on everywhere needs a second operator.
    pub switch_four_eyes: Option<bool>,
    /// Milliseconds between polls of the service switches (default 500).
    pub switch_poll_ms: Option<u64>,
    /// Days a new retrieval code is valid (default 14).
    pub retrieval_code_days: Option<u32>,
    /// Wrong dates of birth a retrieval code takes before it locks (default 5).
    pub retrieval_code_attempts: Option<u32>,
    /// Retrieval attempts per client address and minute (default 10).
    pub retrieval_attempts_per_client_per_minute: Option<u32>,
    /// The public address printed on retrieval sheets, e.g.
    /// `https://befunde.example.org` (default: the address staff use).
    pub public_url: Option<String>,
    /// The origin browsers use, for passkeys (WebAuthn origin; its host is
    /// the relying-party ID), e.g. `https://befunde.example.org`
    /// (default `http://localhost:<port>`).
    pub public_origin: Option<String>,
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
    pub database_url: Option<DatabaseUrl>,
    pub audit_key: PathBuf,
    pub master_keyring: PathBuf,
    pub blob_url: Option<String>,
}

impl DataArgs {
    /// The configuration file this command names (or none), and the data
    /// settings layered over it.
    pub fn load(&self) -> anyhow::Result<(DataSettings, FileSettings)> {
        let file = FileSettings::load(self.config.as_deref())?;
        Ok((self.resolve(&file), file))
    }

    pub fn resolve(&self, file: &FileSettings) -> DataSettings {
        let data_dir = self
            .data_dir
            .clone()
            .or_else(|| file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("./hippo-data"));
        DataSettings {
            master_keyring: self
                .master_keyring
                .clone()
                .or_else(|| file.master_keyring.clone())
                .unwrap_or_else(|| data_dir.join("keys").join("master.keyring")),
            blob_url: self.blob_url.clone().or_else(|| file.blob_url.clone()),
            audit_key: self
                .audit_key
                .clone()
                .or_else(|| file.audit_key.clone())
                .unwrap_or_else(|| data_dir.join("keys").join("audit-signing.key")),
            database_url: self
                .database_url
                .clone()
                .or_else(|| file.database_url.clone()),
            data_dir,
        }
    }
}

impl DataSettings {
    pub fn store_options(&self) -> hippo_store::StoreOptions {
        self.store_options_from(std::env::vars())
    }

    /// [`Self::store_options`] with the environment given.
    fn store_options_from(
        &self,
        environment: impl Iterator<Item = (String, String)>,
    ) -> hippo_store::StoreOptions {
        hippo_store::StoreOptions {
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            build: crate::BUILD.into(),
            blob_url: self.blob_url.clone(),
            // object_store's S3 settings, from the usual AWS variables.
            blob_options: environment
                .filter(|(k, _)| k.starts_with("AWS_"))
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            keys: Some(self.key_source()),
        }
    }

    /// The master keys: one from `HIPPO_MASTER_KEY`, else the keyring file
    /// (read when first needed, so commands that never open a blob run
    /// without it).
    pub fn key_source(&self) -> hippo_store::KeySource {
        match std::env::var("HIPPO_MASTER_KEY") {
            Ok(hex) if !hex.trim().is_empty() => match hippo_crypto::MasterKey::from_hex(&hex) {
                Ok(key) => hippo_store::KeySource::Fixed(std::sync::Arc::new(
                    hippo_crypto::Keyring::new(key),
                )),
                // Unusable: fall back to the file, whose absence is reported
                // when a key is needed; the variable's value is never shown.
                Err(_) => {
                    tracing::error!("HIPPO_MASTER_KEY is set but is not 64 hex digits; ignored");
                    hippo_store::KeySource::File(self.master_keyring.clone())
                }
            },
            _ => hippo_store::KeySource::File(self.master_keyring.clone()),
        }
    }

    /// Create the master keyring (owner-only) unless it exists; returns
    /// whether a new one was made.
    pub fn init_master_keyring(&self) -> anyhow::Result<bool> {
        if self.master_keyring.exists() {
            return Ok(false);
        }
        if let Some(dir) = self.master_keyring.parent() {
            hippo_store::private_files::dir(dir)?;
        }
        let ring = hippo_crypto::Keyring::generate()?;
        crate::demo::write_private(&self.master_keyring, &ring.to_text())?;
        Ok(true)
    }
}

impl DataSettings {
    /// Load the audit signing key from its file.
    pub fn load_audit_key(&self) -> anyhow::Result<hippo_audit::AuditSigningKey> {
        let text = std::fs::read_to_string(&self.audit_key).with_context(|| {
            format!(
                "cannot read the audit signing key {}; create one with `hippo keys init`",
                self.audit_key.display()
            )
        })?;
        Ok(hippo_audit::AuditSigningKey::from_hex(&text)?)
    }

    /// Create the key file (owner-only) unless it exists; returns whether
    /// a new key was made.
    pub fn init_audit_key(&self) -> anyhow::Result<bool> {
        if self.audit_key.exists() {
            return Ok(false);
        }
        if let Some(dir) = self.audit_key.parent() {
            hippo_store::private_files::dir(dir)?;
        }
        let key = hippo_audit::AuditSigningKey::generate();
        crate::demo::write_private(&self.audit_key, &format!("{}\n", key.to_hex()))?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    const PASSWORD: &str = "Pg-S3cret-7f3a";
    const AWS_SECRET: &str = "wJalrXUtnFEMI-K7MDENG";
    const AWS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        data: DataArgs,
    }

    #[test]
    fn settings_print_without_passwords_or_keys() {
        let url = format!("postgres://hippo:{PASSWORD}@db.internal:5432/hippo");
        let cli = Cli::parse_from(["hippo", "--database-url", &url, "--data-dir", "/srv/hippo"]);
        let file: FileSettings = toml::from_str(&format!(
            "database_url = \"{url}\"\nblob_url = \"s3://hippo-blobs\"\n"
        ))
        .unwrap();
        let settings = cli.data.resolve(&file);
        let options = settings.store_options_from(
            [
                ("AWS_SECRET_ACCESS_KEY".to_owned(), AWS_SECRET.to_owned()),
                ("AWS_ACCESS_KEY_ID".to_owned(), AWS_KEY_ID.to_owned()),
                ("AWS_REGION".to_owned(), "eu-central-1".to_owned()),
            ]
            .into_iter(),
        );
        let printed = [
            format!("{cli:?}"),
            format!("{file:?}"),
            format!("{settings:?}"),
            format!("{options:?}"),
            format!("{options:#?}"),
        ];
        for shown in &printed {
            for secret in [PASSWORD, AWS_SECRET, AWS_KEY_ID] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
        }
        // What is shown still helps: the host and the option names.
        assert!(printed[2].contains("db.internal"), "{}", printed[2]);
        assert!(
            printed[3].contains("aws_secret_access_key"),
            "{}",
            printed[3]
        );
        // And the store still gets the real values.
        let database = options.database_url.as_ref().unwrap();
        assert_eq!(database.expose(), url);
    }
}
