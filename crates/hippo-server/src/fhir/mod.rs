//! The FHIR R4 read/search facade under `/fhir/r4` (issue 13): the same
//! principals, route table, policy and audit as the JSON API, answering
//! in FHIR JSON. Resources are our own serde types (`resources`), filled
//! from the store's read models by pure functions (`mapping`); search
//! parameters are parsed strictly (`params`); the handlers (`handlers`)
//! only choose the scope and assemble bundles; every failure renders as an
//! `OperationOutcome` (`crate::error::FhirError`).

pub mod capability;
pub mod handlers;
pub mod mapping;
pub mod params;
pub mod resources;

pub use resources::FHIR_JSON;
/// Where the facade is mounted.
pub const BASE_PATH: &str = "/fhir/r4";
