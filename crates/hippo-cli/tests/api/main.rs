//! Integration tests: the real server on a random port, a fresh SQLite
//! database in a temporary directory, seeded with the demo world.

// Panicking on the unexpected is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod access_history;
mod admin;
mod admission;
mod anomalies;
mod api_keys;
mod audit;
mod bad_input;
// Issue 12: end-to-end in headless Chromium (needs chromium, axe-core).
mod browser;
mod ci;
mod conflicts;
mod demo_binary;
mod drill;
mod durability;
mod encryption;
// Issue 12: second-factor enrolment, recovery codes, account security.
mod enrolment;
mod facility_portal;
// Issue 12: the upload form's value rows (facility helper).
mod facility_upload;
mod faults;
mod fences;
mod fhir;
mod file_modes;
mod findings;
mod forensics;
mod helpers;
// Issue 13: HL7 v2 ORU^R01 intake over HTTP, MLLP and the CLI.
mod hl7;
mod instances;
mod load;
// Issue 12: lockout by account and source, trusted proxies.
mod lockout;
mod matrix;
mod messaging;
// Issue 11: notification outbox and sender.
mod notifications;
mod openapi;
// Issue 12: own sessions, expiry, new-device mail; password reset.
mod operator_console;
mod outbox_throughput;
mod own_sessions;
mod page_security;
// Issue 12: the facility's access log of one patient record.
mod passkeys;
// Issue 13 point 5: the OpenAPI document fuzzed by schemathesis.
mod password_reset;
mod patient_access_log;
mod patient_portal;
mod probing;
mod requests;
mod retrieval;
mod route_table;
mod s3;
mod schemathesis;
mod second_factor;
mod secrets;
mod sessions;
mod smart_scopes;
mod switches;
mod tamper;
mod web;
mod worlds;
