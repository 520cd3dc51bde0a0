//! `hippo audit export`: audit records as JSON lines or as FHIR R4
//! AuditEvent resources (ndjson), for archives and other tools.

use std::io::Write;

use hippo_core::time_util::rfc3339;
use hippo_store::forensics::AccessRecord;
use serde_json::{Value, json};

/// FHIR R4 AuditEvent for one record. Own serde shape: the `fhir` crates
/// cost more build time than the handful of fields used here.
pub fn fhir_audit_event(r: &AccessRecord) -> Value {
    let action = match r.action.as_str() {
        "patient_create"
        | "finding_upload"
        | "hl7_intake"
        | "api_key_create"
        | "retrieval_code_issue" => "C",
        "finding_release" | "finding_retract" | "api_key_revoke" | "retrieval_code_revoke" => "U",
        "login" | "login_second_factor" | "logout" | "forensics_query" => "E",
        _ => "R",
    };
    // 0 success, 4 minor failure (refused, not found), 8 serious failure.
    let outcome = match r.outcome.as_str() {
        "success" => "0",
        "not_found" | "rejected" | "denied" | "rate_limited" | "probing" => "4",
        _ => "8",
    };
    let mut entities = Vec::new();
    if let Some(p) = &r.patient_id {
        entities.push(json!({"what": {"reference": format!("Patient/{p}")}, "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"}}));
    }
    if let Some(id) = &r.resource_id {
        entities.push(json!({"what": {"identifier": {"value": id}}, "type": {"system": "urn:hippo:resource-kind", "code": r.resource_kind}}));
    }
    let mut agent = json!({
        "type": {"text": r.actor_kind},
        "who": {"identifier": {"system": "urn:hippo:actor", "value": r.actor_id.clone().unwrap_or_else(|| "anonymous".into())}},
        "requestor": true,
    });
    if let Some(addr) = &r.client_addr {
        agent["network"] = json!({"address": addr, "type": "2"});
    }
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": r.id,
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": "urn:hippo:action", "code": r.action}],
        "action": action,
        "recorded": rfc3339(r.at),
        "outcome": outcome,
        "agent": [agent],
        "source": {"observer": {"display": format!("Hippo {}", r.build)}},
        "entity": entities,
    });
    if let Some(route) = &r.route {
        event["outcomeDesc"] = json!(format!("{} via {route}", r.outcome));
    } else {
        event["outcomeDesc"] = json!(r.outcome);
    }
    if let Some(t) = &r.tenant_id {
        event["source"]["site"] = json!(t);
    }
    event
}

pub fn write(records: &[AccessRecord], fhir: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    for r in records {
        let line = if fhir {
            fhir_audit_event(r)
        } else {
            serde_json::to_value(r)?
        };
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
