//! The server-rendered browser UI: patient portal and facility portal. No
//! JavaScript; every form carries a CSRF token.

pub mod access_groups;
pub mod access_log;
pub mod access_timeline;
pub mod alerts;
pub mod assets;
pub mod code_rows;
pub mod findings;
pub mod forensics;
pub mod form_guard;
pub mod home;
pub mod incidents;
pub mod language;
pub mod login;
pub mod messages;
pub mod passkeys;
pub mod patients;
pub mod render;
pub mod retrieval;
pub mod second_factor;
pub mod switches;
pub mod tenants;
pub mod trends;
