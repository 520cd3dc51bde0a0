//! `GET /fhir/r4/metadata`: what the facade serves, read from the same
//! tables the handlers and the parameter parser use.

use serde_json::{Value, json};

use super::params::SearchKind;

/// The resource types served, with their search (if any) and whether they
/// are read by ID.
const RESOURCES: &[(&str, Option<SearchKind>)] = &[
    ("Patient", Some(SearchKind::Patient)),
    ("DiagnosticReport", Some(SearchKind::DiagnosticReport)),
    ("Observation", Some(SearchKind::Observation)),
    ("DocumentReference", Some(SearchKind::DocumentReference)),
    ("Binary", None),
    ("Communication", Some(SearchKind::Communication)),
    ("AuditEvent", Some(SearchKind::AuditEvent)),
];

fn resource(kind: &str, search: Option<SearchKind>) -> Value {
    let mut interactions = Vec::new();
    if kind != "AuditEvent" {
        interactions.push(json!({"code": "read"}));
    }
    let mut params: Vec<Value> = Vec::new();
    if let Some(search) = search {
        interactions.push(json!({"code": "search-type"}));
        params = search
            .parameters()
            .iter()
            .map(|(name, kind)| json!({"name": name, "type": kind}))
            .collect();
        params.push(json!({"name": "_count", "type": "number",
            "documentation": "page size, 1 to 100 (default 20)"}));
        params.push(json!({"name": "_offset", "type": "number",
            "documentation": "paging; follow the Bundle's next and previous links"}));
    }
    let mut entry = json!({
        "type": kind,
        "interaction": interactions,
        "searchParam": params,
    });
    match kind {
        "DiagnosticReport" => {
            entry["searchInclude"] = json!(["DiagnosticReport:result"]);
        }
        "Binary" => {
            entry["documentation"] = json!(
                "A finding's PDF: Accept application/pdf for the document itself, \
                 application/fhir+json for a Binary with Base64 data."
            );
        }
        "Communication" => {
            entry["documentation"] = json!(
                "Messages between a facility and its patients, one per message; \
                 searchable by sent (prefixes eq, ge, gt, le, lt); _sort=-sent (default) or \
                 sent. Reading marks nothing read."
            );
        }
        "AuditEvent" => {
            entry["documentation"] =
                json!("A patient's own access history (patients only), newest first.");
        }
        _ => {}
    }
    if matches!(
        kind,
        "DiagnosticReport" | "Observation" | "DocumentReference"
    ) {
        entry["documentation"] = json!(
            "Searchable by date (prefixes eq, ge, gt, le, lt; dates without a zone are UTC); \
             _sort=-date (default) or date."
        );
    }
    if entry["searchParam"].as_array().is_some_and(Vec::is_empty)
        && let Some(object) = entry.as_object_mut()
    {
        object.remove("searchParam");
    }
    entry
}

/// The CapabilityStatement, with `software.version` the build's.
pub fn statement() -> Value {
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-03",
        "kind": "instance",
        "software": {"name": "Hippo", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Hippo FHIR R4 read/search facade"},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            "documentation": "Read and search only. Unknown or unsupported search parameters, \
                modifiers, chained parameters, _revinclude and _has are refused with 400 \
                (strict handling). Searchsets carry no total. A patient's token reaches \
                only that patient's compartment; staff reach their facility.",
            "security": {
                "cors": false,
                "description": "Bearer token of an API login (POST /api/v1/auth/login)."
            },
            "resource": RESOURCES
                .iter()
                .map(|(kind, search)| resource(kind, *search))
                .collect::<Vec<_>>(),
        }],
    })
}
