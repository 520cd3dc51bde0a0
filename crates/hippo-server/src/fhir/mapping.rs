//! Hippo's read models as FHIR R4 resources: pure functions, no I/O. IDs
//! are the JSON API's: a finding is the `DiagnosticReport`, the
//! `DocumentReference` and the `Binary` (its PDF) with the finding's ID; a
//! value is the `Observation` `{finding-id}-{position}`, which says nothing
//! that the report naming it does not (and reading it needs the report's
//! access all the same).

use hippo_core::finding::{AbnormalFlag, FindingStatus, Observation as Value, ObservationValue};
use hippo_core::messaging::{Side, ThreadStatus};
use hippo_core::patient::format_date;
use hippo_core::time_util::{UnixMillis, rfc3339};
use hippo_core::{FindingId, PatientId};
use hippo_store::{
    AccessEntry, CommunicationRecord, FindingDetail, FindingSummary, ObservationRecord,
    PatientRecord,
};

use super::resources::{
    Attachment, AuditAgent, AuditEntity, AuditEvent, AuditSource, Binary, CodeableConcept, Coding,
    Communication, CommunicationPayload, DiagnosticReport, DocumentContent, DocumentContext,
    DocumentReference, HumanName, Identifier, Meta, Observation, Patient, Quantity, Reference,
    ReferenceRange,
};

pub const LOINC: &str = "http://loinc.org";
pub const UCUM: &str = "http://unitsofmeasure.org";
pub const INTERPRETATION: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
const DIAGNOSTIC_SERVICE: &str = "http://terminology.hl7.org/CodeSystem/v2-0074";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
/// The identifier system of IDs that are URIs (`urn:uuid:…`).
const URI_IDENTIFIER: &str = "urn:ietf:rfc:3986";
/// Hippo's own code system for the audited action (`finding_read`, …).
pub const HIPPO_ACTION: &str = "urn:hippo:audit-action";

/// A finding's status as a report's or a value's status. Drafts reach
/// staff only (patients' statements select released findings).
pub fn report_status(status: FindingStatus) -> &'static str {
    match status {
        FindingStatus::Released => "final",
        FindingStatus::Retracted => "entered-in-error",
        FindingStatus::Draft => "preliminary",
    }
}

/// The finding statuses a FHIR status names, for searching.
pub fn finding_status(fhir: &str) -> Option<FindingStatus> {
    match fhir {
        "final" => Some(FindingStatus::Released),
        "entered-in-error" => Some(FindingStatus::Retracted),
        "preliminary" | "registered" => Some(FindingStatus::Draft),
        _ => None,
    }
}

/// The date a finding goes by: released, else created.
pub fn finding_date(f: &FindingSummary) -> UnixMillis {
    f.released_at.unwrap_or(f.created_at)
}

/// A value's public ID.
pub fn observation_id(finding: FindingId, position: usize) -> String {
    format!("{finding}-{position}")
}

/// The finding and position an Observation ID names; `None` for anything
/// else (answered like an unknown ID).
pub fn parse_observation_id(id: &str) -> Option<(FindingId, usize)> {
    let (finding, position) = id.rsplit_once('-')?;
    if position.is_empty() || position.len() > 4 || !position.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((finding.parse().ok()?, position.parse().ok()?))
}

/// A code as a LOINC coding where it has LOINC's shape, else as text.
fn code_concept(code: &str, display: &str) -> CodeableConcept {
    let loinc_shaped = code.split_once('-').is_some_and(|(num, check)| {
        !num.is_empty()
            && num.len() <= 7
            && num.bytes().all(|b| b.is_ascii_digit())
            && check.len() == 1
            && check.bytes().all(|b| b.is_ascii_digit())
    });
    let display = (!display.is_empty()).then_some(display);
    CodeableConcept {
        coding: if loinc_shaped {
            vec![Coding::new(LOINC, code, display)]
        } else {
            Vec::new()
        },
        text: Some(display.unwrap_or(code).to_owned()),
    }
}

/// The UCUM code of a unit as labs write it, where there is one.
pub fn ucum(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "mg/dl" | "mg/dL" => "mg/dL",
        "g/dl" | "g/dL" => "g/dL",
        "ng/dl" | "ng/dL" => "ng/dL",
        "µg/dl" | "ug/dl" | "µg/dL" => "ug/dL",
        "U/l" | "U/L" => "U/L",
        "mU/l" | "mU/L" => "mU/L",
        "ng/ml" | "ng/mL" => "ng/mL",
        "pg/ml" | "pg/mL" => "pg/mL",
        "mg/l" | "mg/L" => "mg/L",
        "mmol/l" | "mmol/L" => "mmol/L",
        "µmol/l" | "umol/l" | "µmol/L" => "umol/L",
        "10^3/µl" | "10^3/µL" | "/nl" => "10*3/uL",
        "10^6/µl" | "10^6/µL" | "/pl" => "10*6/uL",
        "%" => "%",
        "s" => "s",
        "pg" => "pg",
        "fl" | "fL" => "fL",
        "ml/min/1,73m²" | "ml/min/1.73m²" => "mL/min/{1.73_m2}",
        _ => return None,
    })
}

fn quantity(value: f64, unit: Option<&str>) -> Quantity {
    let unit = unit.filter(|u| !u.is_empty());
    let code = unit.and_then(ucum);
    Quantity {
        value,
        unit: unit.map(Into::into),
        system: code.map(|_| UCUM.into()),
        code: code.map(Into::into),
    }
}

fn interpretation(flag: AbnormalFlag) -> CodeableConcept {
    let display = match flag {
        AbnormalFlag::N => "Normal",
        AbnormalFlag::L => "Low",
        AbnormalFlag::H => "High",
        AbnormalFlag::A => "Abnormal",
    };
    CodeableConcept {
        coding: vec![Coding::new(INTERPRETATION, flag.as_str(), Some(display))],
        text: None,
    }
}

fn meta(at: UnixMillis) -> Meta {
    Meta {
        last_updated: Some(rfc3339(at)),
    }
}

pub fn patient(p: &PatientRecord) -> Patient {
    Patient {
        id: p.id.to_string(),
        meta: meta(p.created_at),
        identifier: vec![Identifier {
            system: Some(URI_IDENTIFIER.into()),
            value: format!("urn:uuid:{}", p.id),
        }],
        active: true,
        name: vec![HumanName {
            use_: Some("official"),
            family: p.family_name.clone(),
            given: vec![p.given_name.clone()],
        }],
        birth_date: format_date(p.birth_date),
    }
}

fn last_change(f: &FindingSummary) -> UnixMillis {
    f.retracted_at.or(f.released_at).unwrap_or(f.created_at)
}

/// The PDF as an attachment, at its absolute `Binary` URL under `base`
/// (R4's `url` type; relative references are refused by validators).
fn pdf_attachment(f: &FindingSummary, base: &str) -> Attachment {
    Attachment {
        content_type: "application/pdf",
        url: format!("{base}/Binary/{}", f.id),
        size: f.pdf_size,
        title: f.title.clone(),
    }
}

/// A finding as a laboratory report, its values as `result`, its PDF as
/// the presented form (fetched from `Binary/{id}`).
pub fn diagnostic_report(f: &FindingDetail, base: &str) -> DiagnosticReport {
    let s = &f.summary;
    DiagnosticReport {
        id: s.id.to_string(),
        meta: meta(last_change(s)),
        status: report_status(s.status),
        category: vec![CodeableConcept {
            coding: vec![Coding::new(DIAGNOSTIC_SERVICE, "LAB", Some("Laboratory"))],
            text: None,
        }],
        code: CodeableConcept {
            coding: vec![Coding::new(LOINC, "11502-2", Some("Laboratory report"))],
            text: Some(s.title.clone()),
        },
        subject: Reference::to("Patient", s.patient_id),
        effective_date_time: rfc3339(finding_date(s)),
        issued: s.released_at.map(rfc3339),
        performer: vec![Reference::display(s.tenant_name.clone())],
        result: (0..f.observations.len())
            .map(|i| Reference::to("Observation", observation_id(s.id, i)))
            .collect(),
        presented_form: vec![pdf_attachment(s, base)],
    }
}

/// One value of a finding.
pub fn observation(record: &ObservationRecord) -> Observation {
    let position = usize::try_from(record.position).unwrap_or_default();
    value_observation(
        record.finding_id,
        record.patient_id,
        record.status,
        record.at,
        position,
        &record.observation,
    )
}

/// The value at `position` of an admitted finding.
pub fn observation_of(f: &FindingDetail, position: usize) -> Option<Observation> {
    let s = &f.summary;
    let value = f.observations.get(position)?;
    Some(value_observation(
        s.id,
        s.patient_id,
        s.status,
        finding_date(s),
        position,
        value,
    ))
}

/// The values of an admitted finding, in order.
pub fn observations_of(f: &FindingDetail) -> Vec<Observation> {
    (0..f.observations.len())
        .filter_map(|i| observation_of(f, i))
        .collect()
}

fn value_observation(
    finding: FindingId,
    patient: PatientId,
    status: FindingStatus,
    at: UnixMillis,
    position: usize,
    value: &Value,
) -> Observation {
    let unit = value.unit.as_deref();
    let (value_quantity, value_string) = match &value.value {
        ObservationValue::Numeric(v) => (Some(quantity(*v, unit)), None),
        ObservationValue::Text(t) => (None, Some(t.clone())),
    };
    let range = ReferenceRange {
        low: value.reference_low.map(|v| quantity(v, unit)),
        high: value.reference_high.map(|v| quantity(v, unit)),
    };
    let has_range = range.low.is_some() || range.high.is_some();
    Observation {
        id: observation_id(finding, position),
        meta: meta(at),
        status: report_status(status),
        category: vec![CodeableConcept {
            coding: vec![Coding::new(
                OBSERVATION_CATEGORY,
                "laboratory",
                Some("Laboratory"),
            )],
            text: None,
        }],
        code: code_concept(&value.code, &value.display),
        subject: Reference::to("Patient", patient),
        effective_date_time: rfc3339(at),
        value_quantity,
        value_string,
        interpretation: vec![interpretation(value.flag)],
        reference_range: if has_range { vec![range] } else { Vec::new() },
    }
}

/// A finding's PDF as a document, pointing at its `Binary`.
pub fn document_reference(f: &FindingSummary, base: &str) -> DocumentReference {
    DocumentReference {
        id: f.id.to_string(),
        meta: meta(last_change(f)),
        status: match f.status {
            FindingStatus::Retracted => "entered-in-error",
            _ => "current",
        },
        doc_status: Some(match f.status {
            FindingStatus::Draft => "preliminary",
            FindingStatus::Released => "final",
            FindingStatus::Retracted => "entered-in-error",
        }),
        type_: CodeableConcept {
            coding: vec![Coding::new(LOINC, "11502-2", Some("Laboratory report"))],
            text: Some(f.title.clone()),
        },
        subject: Reference::to("Patient", f.patient_id),
        date: rfc3339(finding_date(f)),
        description: f.title.clone(),
        content: vec![DocumentContent {
            attachment: pdf_attachment(f, base),
        }],
        context: DocumentContext {
            related: vec![Reference::to("DiagnosticReport", f.id)],
        },
    }
}

/// A message as a `Communication`: its thread's subject as the topic, the
/// message before it as what it answers, its text and attachments as the
/// payload (each attachment fetched from the JSON API, under the same
/// token). `received` is when the other side first opened the thread
/// after it, the only receipt Hippo keeps.
pub fn communication(c: &CommunicationRecord, base: &str) -> Communication {
    let m = &c.message;
    let patient = Reference::to("Patient", c.patient_id);
    let facility = Reference::display(&c.tenant_name);
    let (sender, recipient) = match m.author_side {
        Side::Patient => (
            Reference {
                display: m.author_name.clone(),
                ..patient.clone()
            },
            facility,
        ),
        Side::Staff => (
            Reference::display(m.author_name.as_deref().unwrap_or(&c.tenant_name)),
            patient.clone(),
        ),
    };
    let origin = base.strip_suffix(super::BASE_PATH).unwrap_or(base);
    let mut payload: Vec<CommunicationPayload> = Vec::new();
    if !m.body.trim().is_empty() {
        payload.push(CommunicationPayload {
            content_string: Some(m.body.clone()),
            content_attachment: None,
        });
    }
    payload.extend(m.attachments.iter().map(|a| CommunicationPayload {
        content_string: None,
        content_attachment: Some(Attachment {
            content_type: match a.kind.as_str() {
                "png" => "image/png",
                "jpeg" => "image/jpeg",
                _ => "application/pdf",
            },
            url: format!("{origin}/api/v1/attachments/{}", a.id),
            size: a.size,
            title: a.file_name.clone(),
        }),
    }));
    Communication {
        id: m.id.to_string(),
        meta: meta(m.read_at.unwrap_or(m.created_at)),
        status: match c.thread_status {
            ThreadStatus::Retracted => "entered-in-error",
            _ => "completed",
        },
        subject: patient,
        topic: CodeableConcept {
            coding: Vec::new(),
            text: Some(c.subject.clone()),
        },
        in_response_to: c
            .in_response_to
            .map(|previous| vec![Reference::to("Communication", previous)])
            .unwrap_or_default(),
        sent: rfc3339(m.created_at),
        received: m.read_at.map(rfc3339),
        sender,
        recipient: vec![recipient],
        payload,
    }
}

/// A finding's PDF as a FHIR `Binary` (Base64), for clients that ask for
/// FHIR JSON rather than the PDF itself.
pub fn binary(f: &FindingSummary, pdf: &[u8]) -> Binary {
    use base64::Engine as _;
    Binary {
        id: f.id.to_string(),
        content_type: "application/pdf",
        security_context: Reference::to("DiagnosticReport", f.id),
        data: base64::engine::general_purpose::STANDARD.encode(pdf),
    }
}

/// The FHIR action code of an audited action: read, create, update or
/// execute.
fn audit_action(action: &str) -> &'static str {
    if action.ends_with("_read")
        || action.ends_with("_list")
        || action.ends_with("_download")
        || action.ends_with("_search")
        || action.ends_with("_query")
    {
        "R"
    } else if action.ends_with("_upload") || action.ends_with("_create") {
        "C"
    } else if action.ends_with("_release") || action.ends_with("_retract") {
        "U"
    } else {
        "E"
    }
}

/// One entry of a patient's own access history.
pub fn audit_event(e: &AccessEntry) -> AuditEvent {
    let who = if e.by_self {
        "you".to_owned()
    } else {
        match &e.staff_name {
            Some(name) => format!("{name} ({})", e.actor_kind),
            None => e.actor_kind.clone(),
        }
    };
    let mut entity = vec![AuditEntity {
        what: Reference::to("Patient", e.patient_id),
        type_: Coding::new(
            "http://terminology.hl7.org/CodeSystem/audit-entity-type",
            "1",
            Some("Person"),
        ),
    }];
    if let Some(id) = &e.resource_id
        && matches!(e.resource_kind.as_str(), "finding" | "finding_pdf")
    {
        entity.push(AuditEntity {
            what: Reference::to("DiagnosticReport", id),
            type_: Coding::new(
                "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                "2",
                Some("System Object"),
            ),
        });
    }
    AuditEvent {
        id: e.id.clone(),
        type_: Coding::new(
            "http://dicom.nema.org/resources/ontology/DCM",
            "110110",
            Some("Patient Record"),
        ),
        subtype: vec![Coding::new(HIPPO_ACTION, &e.action, None)],
        action: audit_action(&e.action),
        recorded: rfc3339(e.at),
        outcome: match e.outcome.as_str() {
            "success" => "0",
            "denied" | "not_found" | "rejected" => "4",
            _ => "8",
        },
        outcome_desc: e.outcome.clone(),
        agent: vec![AuditAgent {
            type_: None,
            who: Reference::display(who),
            requestor: true,
        }],
        source: AuditSource {
            site: e.facility.clone(),
            observer: Reference::display("Hippo"),
        },
        entity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observation_ids_round_trip_and_refuse_anything_else() {
        let finding = FindingId::random();
        let id = observation_id(finding, 12);
        assert_eq!(parse_observation_id(&id), Some((finding, 12)));
        assert_eq!(parse_observation_id(&finding.to_string()), None);
        assert_eq!(parse_observation_id(&format!("{finding}-")), None);
        assert_eq!(parse_observation_id(&format!("{finding}-x1")), None);
        assert_eq!(parse_observation_id("1-2"), None);
    }

    #[test]
    fn statuses_map_both_ways() {
        for status in [
            FindingStatus::Draft,
            FindingStatus::Released,
            FindingStatus::Retracted,
        ] {
            assert_eq!(finding_status(report_status(status)), Some(status));
        }
    }

    #[test]
    fn lab_units_map_to_ucum() {
        assert_eq!(ucum("mg/dl"), Some("mg/dL"));
        assert_eq!(ucum("10^3/µl"), Some("10*3/uL"));
        assert_eq!(ucum("Stück"), None);
    }

    #[test]
    fn only_loinc_shaped_codes_claim_loinc() {
        assert_eq!(
            code_concept("718-7", "Hb").coding[0].system.as_deref(),
            Some(LOINC)
        );
        assert!(code_concept("HB", "Hb").coding.is_empty());
    }
}
