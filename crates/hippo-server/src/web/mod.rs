//! The server-rendered browser UI: patient portal and facility portal. No
//! JavaScript; every form carries a CSRF token.

pub mod access_groups;
pub mod access_log;
pub mod access_timeline;
pub mod account_security;
pub mod account_sessions;
pub mod alerts;
pub mod api_keys;
pub mod assets;
pub mod code_rows;
pub mod enrolment;
pub mod finding_upload;
pub mod findings;
pub mod forensics;
pub mod form_guard;
pub mod home;
pub mod incidents;
pub mod invitation;
pub mod language;
pub mod login;
pub mod messages;
// Issue 12: one patient record's access log for the facility.
pub mod passkeys;
pub mod password_reset;
pub mod patient_access_log;
pub mod patients;
pub mod recovery_codes;
pub mod render;
pub mod retrieval;
pub mod second_factor;
pub mod settings;
pub mod staff;
pub mod switches;
pub mod tenants;
pub mod trends;
