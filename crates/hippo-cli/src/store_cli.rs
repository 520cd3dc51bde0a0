//! Opening and closing the store for one command: every subcommand that
//! touches data goes through [`with_store`], so each one reads its settings
//! the same way and closes the database (and its audit writer) also when
//! it fails.

use anyhow::Context;
use hippo_store::Store;

use crate::settings::{DataArgs, DataSettings, FileSettings};

/// The store of a command that keeps it (`serve`, `demo`), with the
/// settings it was opened with.
pub struct OpenedStore {
    pub store: Store,
    pub settings: DataSettings,
    pub file: FileSettings,
}

/// Layer flags, environment and the configuration file, and open the store.
pub async fn open(data: &DataArgs) -> anyhow::Result<OpenedStore> {
    let (settings, file) = data.load()?;
    let store = Store::open(&settings.store_options())
        .await
        .with_context(|| {
            format!(
                "cannot open the database in {}",
                settings.data_dir.display()
            )
        })?;
    Ok(OpenedStore {
        store,
        settings,
        file,
    })
}

/// Run `command` on the opened store, then close it, whatever the outcome.
pub async fn with_store<T>(
    data: &DataArgs,
    command: impl AsyncFnOnce(&Store, &DataSettings) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let opened = open(data).await?;
    let outcome = command(&opened.store, &opened.settings).await;
    opened.store.close().await;
    outcome
}
