//! What leaves the server about findings and patients: explicit view types,
//! so that no stored field (hashes, internal sequence numbers, creator IDs)
//! can reach a response by accident.

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hippo_core::FindingId;
use hippo_core::finding::{Observation, ObservationValue};
use hippo_core::patient::format_date;
use hippo_core::time_util::rfc3339;
use hippo_store::{FindingDetail, FindingSummary, InclusionProof, PatientRecord};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct FacilityView {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FindingSummaryView {
    pub id: String,
    pub title: String,
    /// `draft`, `released` or `retracted`. Patients only ever see `released`.
    pub status: String,
    pub facility: FacilityView,
    pub patient_id: String,
    pub created_at: String,
    pub released_at: Option<String>,
    pub retracted_at: Option<String>,
    /// Number of observations flagged outside the reference range.
    pub abnormal_count: i64,
    pub pdf_size: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ValueView {
    Number(f64),
    Text(String),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObservationView {
    pub code: String,
    pub display: String,
    pub value: ValueView,
    pub unit: Option<String>,
    pub reference_low: Option<f64>,
    pub reference_high: Option<f64>,
    /// `N` normal, `L` low, `H` high, `A` abnormal.
    pub flag: String,
    pub abnormal: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FindingView {
    #[serde(flatten)]
    pub summary: FindingSummaryView,
    pub observations: Vec<ObservationView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PatientView {
    pub id: String,
    pub given_name: String,
    pub family_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PatientFindingsView {
    pub patient: PatientView,
    pub findings: Vec<FindingSummaryView>,
}

impl From<&FindingSummary> for FindingSummaryView {
    fn from(f: &FindingSummary) -> Self {
        Self {
            id: f.id.to_string(),
            title: f.title.clone(),
            status: f.status.as_str().into(),
            facility: FacilityView {
                id: f.tenant_id.to_string(),
                name: f.tenant_name.clone(),
            },
            patient_id: f.patient_id.to_string(),
            created_at: rfc3339(f.created_at),
            released_at: f.released_at.map(rfc3339),
            retracted_at: f.retracted_at.map(rfc3339),
            abnormal_count: f.abnormal_count,
            pdf_size: f.pdf_size,
        }
    }
}

impl From<&Observation> for ObservationView {
    fn from(o: &Observation) -> Self {
        Self {
            code: o.code.clone(),
            display: o.display.clone(),
            value: match &o.value {
                ObservationValue::Numeric(v) => ValueView::Number(*v),
                ObservationValue::Text(t) => ValueView::Text(t.clone()),
            },
            unit: o.unit.clone(),
            reference_low: o.reference_low,
            reference_high: o.reference_high,
            flag: o.flag.as_str().into(),
            abnormal: o.flag.is_abnormal(),
        }
    }
}

impl From<&FindingDetail> for FindingView {
    fn from(d: &FindingDetail) -> Self {
        Self {
            summary: (&d.summary).into(),
            observations: d.observations.iter().map(Into::into).collect(),
        }
    }
}

impl From<&PatientRecord> for PatientView {
    fn from(p: &PatientRecord) -> Self {
        Self {
            id: p.id.to_string(),
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            birth_date: format_date(p.birth_date),
        }
    }
}

/// At most this many access-history entries per request, newest first.
pub const HISTORY_LIMIT: i64 = 500;

/// An RFC 9162 inclusion proof of one record in a signed tree head.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProofView {
    pub record: String,
    /// 0-based position of the record's leaf.
    pub leaf_index: u64,
    /// SHA-256(0x00 || canonical record), hex.
    pub leaf_hash: String,
    /// Sibling hashes from the leaf up, hex.
    pub audit_path: Vec<String>,
    pub tree_size: u64,
    pub root_hash: String,
    pub issued_at: String,
    /// ed25519 signature over the tree head, hex.
    pub signature: String,
}

pub fn proof_view(record: &str, p: &InclusionProof) -> InclusionProofView {
    InclusionProofView {
        record: record.to_owned(),
        leaf_index: p.leaf_index,
        leaf_hash: hex::encode(p.leaf_hash),
        audit_path: p.audit_path.iter().map(hex::encode).collect(),
        tree_size: p.head.head.size,
        root_hash: hex::encode(p.head.head.root),
        issued_at: rfc3339(p.head.head.issued_at),
        signature: hex::encode(p.head.signature),
    }
}

/// A PDF response that browsers download rather than render inline, with
/// a file name that carries no personal data.
pub fn pdf_response(id: FindingId, bytes: Vec<u8>) -> Response {
    pdf_response_as(id, bytes, "attachment")
}

/// A finding's PDF to show in the browser's own viewer.
pub fn pdf_inline_response(id: FindingId, bytes: Vec<u8>) -> Response {
    pdf_response_as(id, bytes, "inline")
}

fn pdf_response_as(id: FindingId, bytes: Vec<u8>, disposition: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"finding-{id}.pdf\""),
            ),
        ],
        Body::from(bytes),
    )
        .into_response()
}
