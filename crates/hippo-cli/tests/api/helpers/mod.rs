//! `spawn_app()` and typed helpers for talking to it.

use hippo_cli::demo::{DemoUser, DemoWorld};
use hippo_server::{RunningServer, ServerConfig};
use hippo_store::{Store, StoreOptions};
use reqwest::{Client, Response, StatusCode, multipart};
use serde_json::{Value, json};
use sqlx::{AnyPool, Row};

mod app;
mod binary;
mod http;
mod scopes;
mod services;
// Notifications (issue 11): a real SMTP server on loopback.
mod smtp;
// Browser logins through the form (issue 12).
mod web_login;

pub use app::*;
pub use binary::*;
pub use http::*;
pub use scopes::*;
pub use services::*;
pub use smtp::*;
pub use web_login::*;

/// Every file under `dir`, recursively (none if it does not exist).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    if !dir.exists() {
        return Vec::new();
    }
    hippo_cli::storage_cli::files_under(dir).unwrap()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
