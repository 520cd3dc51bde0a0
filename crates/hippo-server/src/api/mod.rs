//! The JSON API under `/api/v1`. Bearer tokens only; errors are
//! `{"error": {"code", "message"}}`.

pub mod access_log;
pub mod account;
pub mod account_sessions;
pub mod alerts;
pub mod api_keys;
pub mod auth;
pub mod enrolment;
pub mod findings;
pub mod forensics;
// Issue 13: HL7 v2 ORU^R01 intake.
pub mod hl7;
pub mod json;
pub mod openapi;
// Issue 12: one patient record's access log for the facility.
pub mod passkeys;
pub mod password_reset;
pub mod patient_access_log;
pub mod patients;
pub mod retrieval;
pub mod scoped_tokens;
pub mod settings;
pub mod staff;
pub mod switches;
pub mod tenants;
pub mod threads;
