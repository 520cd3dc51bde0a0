//! This instance's view of the service switches: a snapshot that every
//! request is checked against, kept current by a background watcher. On
//! PostgreSQL a change's `NOTIFY` triggers a reread at once; everywhere the
//! watcher also polls a version counter (the only signal on SQLite, the
//! fallback on PostgreSQL). If the database cannot be read the last known
//! state stays in force, the failure is logged and counted, and the next
//! tick tries again.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hippo_core::switches::SwitchBoard;
use hippo_core::time_util::now_millis;
use hippo_store::{Store, StoreError, SwitchNotifications, UnscopedSwitches};
use serde::Serialize;
use utoipa::ToSchema;

/// Shared by the request path (reads) and the watcher (writes).
#[derive(Clone)]
pub struct Switchboard {
    shared: Arc<Shared>,
}

struct Shared {
    current: RwLock<Arc<SwitchBoard>>,
    switches: UnscopedSwitches,
    read_failures: AtomicU64,
    /// When reads started failing (Unix ms), 0 while they succeed.
    stale_since: AtomicI64,
}

/// How current this instance's view is, for operators.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WatcherHealth {
    /// The switch-table version this instance enforces.
    pub version: i64,
    /// Failed rereads since start.
    pub read_failures: u64,
    /// Set while rereads fail: the view may be stale since then (Unix ms).
    pub stale_since: Option<i64>,
}

impl Switchboard {
    /// Read the switches once; the server does not start without them.
    pub async fn load(switches: UnscopedSwitches) -> Result<Self, StoreError> {
        let board = switches.board().await?;
        Ok(Self {
            shared: Arc::new(Shared {
                current: RwLock::new(Arc::new(board)),
                switches,
                read_failures: AtomicU64::new(0),
                stale_since: AtomicI64::new(0),
            }),
        })
    }

    /// What is off now.
    pub fn snapshot(&self) -> Arc<SwitchBoard> {
        match self.shared.current.read() {
            Ok(board) => board.clone(),
            // A writer panicked mid-replace; the value is still whole.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, board: SwitchBoard) {
        let board = Arc::new(board);
        match self.shared.current.write() {
            Ok(mut current) => *current = board,
            Err(poisoned) => *poisoned.into_inner() = board,
        }
    }

    pub fn health(&self) -> WatcherHealth {
        let stale = self.shared.stale_since.load(Ordering::Relaxed);
        WatcherHealth {
            version: self.snapshot().version,
            read_failures: self.shared.read_failures.load(Ordering::Relaxed),
            stale_since: (stale != 0).then_some(stale),
        }
    }

    /// Reread now if the version moved (or `force`). A failure keeps the
    /// last known state and is logged; the caller's next tick retries.
    pub async fn refresh(&self, force: bool) {
        match self.reread(force).await {
            Ok(()) => {
                let since = self.shared.stale_since.swap(0, Ordering::Relaxed);
                if since != 0 {
                    tracing::info!(
                        stale_ms = now_millis() - since,
                        "service switches readable again"
                    );
                }
            }
            Err(error) => {
                let failures = self.shared.read_failures.fetch_add(1, Ordering::Relaxed) + 1;
                let first = self
                    .shared
                    .stale_since
                    .compare_exchange(0, now_millis(), Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok();
                // Every failure is counted; the log gets the first of a run
                // and then one line in fifty, not two lines a second.
                if first || failures.is_multiple_of(50) {
                    tracing::error!(
                        error = %hippo_store::chain(&error),
                        failures,
                        "cannot read the service switches; keeping the last known state"
                    );
                }
            }
        }
    }

    async fn reread(&self, force: bool) -> Result<(), StoreError> {
        let known = self.snapshot().version;
        if !force && self.shared.switches.version().await? == known {
            return Ok(());
        }
        let board = self.shared.switches.board().await?;
        if board.version != known {
            tracing::info!(
                version = board.version,
                off = board.outages().len(),
                "service switches changed"
            );
        }
        self.replace(board);
        Ok(())
    }
}

/// Keep `board` current for as long as the server runs.
pub async fn spawn_watcher(
    store: &Store,
    board: Switchboard,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    let notifications = match store.switch_notifications().await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(
                error = %hippo_store::chain(&error),
                "cannot LISTEN for service switch changes; polling only"
            );
            None
        }
    };
    tokio::spawn(watch(board, notifications, every))
}

async fn watch(
    board: Switchboard,
    mut notifications: Option<SwitchNotifications>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let notified = match notifications.as_mut() {
            Some(listener) => tokio::select! {
                heard = listener.next() => match heard {
                    Ok(_) => true,
                    Err(error) => {
                        // The listener reconnects on its next call; until
                        // then the poll below carries on.
                        tracing::warn!(error = %hippo_store::chain(&error), "switch notifications interrupted");
                        tick.tick().await;
                        false
                    }
                },
                _ = tick.tick() => false,
            },
            None => {
                tick.tick().await;
                false
            }
        };
        board.refresh(notified).await;
    }
}
