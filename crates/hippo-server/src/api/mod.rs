//! The JSON API under `/api/v1`. Bearer tokens only; errors are
//! `{"error": {"code", "message"}}`.

pub mod access_log;
pub mod alerts;
pub mod api_keys;
pub mod auth;
pub mod findings;
pub mod forensics;
pub mod json;
pub mod openapi;
pub mod passkeys;
pub mod patients;
pub mod retrieval;
pub mod switches;
pub mod tenants;
pub mod threads;
