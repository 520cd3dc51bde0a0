//! A patient's access history: who accessed their data, when, from which
//! facility, and an inclusion proof for any entry.

use axum::Json;
use axum::extract::Path;
use hippo_core::time_util::rfc3339;
use hippo_store::{AccessEntry, InclusionProof};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::extract::Authorized;

/// At most this many entries per request, newest first.
pub const HISTORY_LIMIT: i64 = 500;

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessEntryView {
    /// The audit record's ID; fetch its inclusion proof with it.
    pub id: String,
    pub at: String,
    pub facility: String,
    /// `you`, `clinician`, `assistant`, `tenant_admin`, `lab_system`, …
    pub actor: String,
    /// The staff member's name where the facility shows it.
    pub staff_name: Option<String>,
    /// What was done, e.g. `finding_read`, `finding_pdf_download`.
    pub action: String,
    pub resource_kind: String,
    pub resource_id: Option<String>,
    pub outcome: String,
}

impl From<&AccessEntry> for AccessEntryView {
    fn from(e: &AccessEntry) -> Self {
        Self {
            id: e.id.clone(),
            at: rfc3339(e.at),
            facility: e.facility.clone(),
            actor: if e.by_self {
                "you".into()
            } else {
                e.actor_kind.clone()
            },
            staff_name: e.staff_name.clone(),
            action: e.action.clone(),
            resource_kind: e.resource_kind.clone(),
            resource_id: e.resource_id.clone(),
            outcome: e.outcome.clone(),
        }
    }
}

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

/// Every access to the caller's data, newest first.
#[utoipa::path(get, path = "/api/v1/access-log", tag = "access history",
    responses((status = 200, body = Vec<AccessEntryView>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(caller: Authorized) -> Result<Json<Vec<AccessEntryView>>, ApiError> {
    let entries = caller.patient()?.access_history(HISTORY_LIMIT).await?;
    Ok(Json(entries.iter().map(Into::into).collect()))
}

/// The inclusion proof of one entry of the caller's access history.
#[utoipa::path(get, path = "/api/v1/access-log/{id}/proof", tag = "access history",
    params(("id" = String, Path, description = "audit record ID")),
    responses((status = 200, body = InclusionProofView), (status = 404, body = ErrorBody),
        (status = 409, description = "not yet in a signed tree head", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn proof(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<InclusionProofView>, ApiError> {
    let id: hippo_core::AuditRecordId = caller.parse_id(&raw).await?;
    let proof = caller.patient()?.access_proof(&id.to_string()).await?;
    Ok(Json(proof_view(&id.to_string(), &proof)))
}
