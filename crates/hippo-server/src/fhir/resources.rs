//! The few FHIR R4 (4.0.1) resources Hippo emits, as plain serde types:
//! only the elements Hippo fills. (The `fhir` crate would cost minutes of
//! build time for hundreds of resources we never use.)

use serde::Serialize;
use serde_json::Value;

/// The media type of every FHIR answer.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

#[derive(Debug, Clone, Serialize, Default)]
pub struct Meta {
    #[serde(rename = "lastUpdated", skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Coding {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Coding {
    pub fn new(system: &str, code: &str, display: Option<&str>) -> Self {
        Self {
            system: Some(system.into()),
            code: Some(code.into()),
            display: display.map(Into::into),
        }
    }
}

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct CodeableConcept {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Reference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Reference {
    pub fn to(kind: &str, id: impl std::fmt::Display) -> Self {
        Self {
            reference: Some(format!("{kind}/{id}")),
            display: None,
        }
    }

    pub fn display(text: impl Into<String>) -> Self {
        Self {
            reference: None,
            display: Some(text.into()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Quantity {
    pub value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Identifier {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct HumanName {
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<&'static str>,
    pub family: String,
    pub given: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "resourceType")]
pub struct Patient {
    pub id: String,
    pub meta: Meta,
    pub identifier: Vec<Identifier>,
    pub active: bool,
    pub name: Vec<HumanName>,
    #[serde(rename = "birthDate")]
    pub birth_date: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    #[serde(rename = "contentType")]
    pub content_type: &'static str,
    pub url: String,
    pub size: i64,
    pub title: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "resourceType")]
pub struct DiagnosticReport {
    pub id: String,
    pub meta: Meta,
    pub status: &'static str,
    pub category: Vec<CodeableConcept>,
    pub code: CodeableConcept,
    pub subject: Reference,
    #[serde(rename = "effectiveDateTime")]
    pub effective_date_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued: Option<String>,
    pub performer: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub result: Vec<Reference>,
    #[serde(rename = "presentedForm")]
    pub presented_form: Vec<Attachment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReferenceRange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high: Option<Quantity>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "resourceType")]
pub struct Observation {
    pub id: String,
    pub meta: Meta,
    pub status: &'static str,
    pub category: Vec<CodeableConcept>,
    pub code: CodeableConcept,
    pub subject: Reference,
    #[serde(rename = "effectiveDateTime")]
    pub effective_date_time: String,
    #[serde(rename = "valueQuantity", skip_serializing_if = "Option::is_none")]
    pub value_quantity: Option<Quantity>,
    #[serde(rename = "valueString", skip_serializing_if = "Option::is_none")]
    pub value_string: Option<String>,
    pub interpretation: Vec<CodeableConcept>,
    #[serde(rename = "referenceRange", skip_serializing_if = "Vec::is_empty")]
    pub reference_range: Vec<ReferenceRange>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DocumentContent {
    pub attachment: Attachment,
}

#[derive(Debug, Clone, Serialize)]
pub struct DocumentContext {
    pub related: Vec<Reference>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "resourceType")]
pub struct DocumentReference {
    pub id: String,
    pub meta: Meta,
    pub status: &'static str,
    #[serde(rename = "docStatus", skip_serializing_if = "Option::is_none")]
    pub doc_status: Option<&'static str>,
    #[serde(rename = "type")]
    pub type_: CodeableConcept,
    pub subject: Reference,
    pub date: String,
    pub description: String,
    pub content: Vec<DocumentContent>,
    pub context: DocumentContext,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "resourceType")]
pub struct Binary {
    pub id: String,
    #[serde(rename = "contentType")]
    pub content_type: &'static str,
    #[serde(rename = "securityContext")]
    pub security_context: Reference,
    pub data: String,
}

/// One part of a message: its text, or one of its attachments.
#[derive(Debug, Clone, Serialize)]
pub struct CommunicationPayload {
    #[serde(rename = "contentString", skip_serializing_if = "Option::is_none")]
    pub content_string: Option<String>,
    #[serde(rename = "contentAttachment", skip_serializing_if = "Option::is_none")]
    pub content_attachment: Option<Attachment>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "resourceType")]
pub struct Communication {
    pub id: String,
    pub meta: Meta,
    pub status: &'static str,
    pub subject: Reference,
    pub topic: CodeableConcept,
    #[serde(rename = "inResponseTo", skip_serializing_if = "Vec::is_empty")]
    pub in_response_to: Vec<Reference>,
    pub sent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<String>,
    pub sender: Reference,
    pub recipient: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub payload: Vec<CommunicationPayload>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditAgent {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<CodeableConcept>,
    pub who: Reference,
    pub requestor: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditSource {
    pub site: String,
    pub observer: Reference,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntity {
    pub what: Reference,
    #[serde(rename = "type")]
    pub type_: Coding,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "resourceType")]
pub struct AuditEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: Coding,
    pub subtype: Vec<Coding>,
    pub action: &'static str,
    pub recorded: String,
    pub outcome: &'static str,
    #[serde(rename = "outcomeDesc")]
    pub outcome_desc: String,
    pub agent: Vec<AuditAgent>,
    pub source: AuditSource,
    pub entity: Vec<AuditEntity>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutcomeIssue {
    pub severity: &'static str,
    pub code: &'static str,
    pub diagnostics: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "resourceType")]
pub struct OperationOutcome {
    pub issue: Vec<OutcomeIssue>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BundleLink {
    pub relation: &'static str,
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BundleSearch {
    pub mode: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct BundleEntry {
    #[serde(rename = "fullUrl")]
    pub full_url: String,
    pub resource: Value,
    pub search: BundleSearch,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "resourceType")]
pub struct Bundle {
    pub id: String,
    pub meta: Meta,
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub link: Vec<BundleLink>,
    pub entry: Vec<BundleEntry>,
}
