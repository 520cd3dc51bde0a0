//! `hippo audit verify`: recompute the whole log and check it against its
//! signed tree heads. Names the first record or head that is wrong.

use ed25519_dalek::VerifyingKey;
use hippo_audit::merkle::{consistency_proof, leaf_hash, verify_consistency};
use hippo_audit::{CompactRange, Hash};
use hippo_core::audit::CanonicalFields;
use sqlx::Row;

use crate::audit::AuditLog;
use crate::error::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    pub heads: u64,
    /// The first problem found, in log order; `None` means intact.
    pub problem: Option<String>,
}

const PAGE: i64 = 20_000;

impl AuditLog {
    /// Check every record and every signed head. `progress(done, total)` is
    /// called as records are read.
    pub async fn verify(
        &self,
        key: &VerifyingKey,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<VerifyReport, StoreError> {
        let total = self.size().await?;
        let heads = self.heads().await?;
        let mut leaves: Vec<Hash> = Vec::with_capacity(total as usize);
        let mut problem: Option<String> = None;
        let mut expected = 1u64;
        'pages: loop {
            let rows =
                sqlx::query("SELECT * FROM audit_records WHERE seq >= ? ORDER BY seq LIMIT ?")
                    .bind(expected as i64)
                    .bind(PAGE)
                    .fetch_all(&self.pool)
                    .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let seq = row.try_get::<i64, _>("seq")? as u64;
                if seq != expected {
                    problem = Some(format!(
                        "record #{expected} is missing: the log jumps from #{} to #{seq}",
                        expected - 1
                    ));
                    break 'pages;
                }
                let id: String = row.try_get("id")?;
                let text = |c: &str| row.try_get::<Option<String>, _>(c);
                let (actor_id, actor_tenant, resource_id) = (
                    text("actor_id")?,
                    text("actor_tenant_id")?,
                    text("resource_id")?,
                );
                let (patient, tenant, detail) =
                    (text("patient_id")?, text("tenant_id")?, text("detail")?);
                let (client, agent, route) =
                    (text("client_addr")?, text("user_agent")?, text("route")?);
                let (kind, action, rkind): (String, String, String) = (
                    row.try_get("actor_kind")?,
                    row.try_get("action")?,
                    row.try_get("resource_kind")?,
                );
                let (outcome, request, build): (String, String, String) = (
                    row.try_get("outcome")?,
                    row.try_get("request_id")?,
                    row.try_get("build")?,
                );
                let claim: String = row.try_get("claim")?;
                let encoded = CanonicalFields {
                    seq,
                    at: row.try_get("at")?,
                    id: &id,
                    actor_kind: &kind,
                    actor_id: actor_id.as_deref(),
                    actor_tenant_id: actor_tenant.as_deref(),
                    action: &action,
                    resource_kind: &rkind,
                    resource_id: resource_id.as_deref(),
                    patient_id: patient.as_deref(),
                    tenant_id: tenant.as_deref(),
                    outcome: &outcome,
                    detail: detail.as_deref(),
                    request_id: &request,
                    route: route.as_deref(),
                    client_addr: client.as_deref(),
                    user_agent: agent.as_deref(),
                    build: &build,
                    claim: &claim,
                }
                .encode();
                let canonical: Vec<u8> = row.try_get("canonical")?;
                let stored_leaf: Vec<u8> = row.try_get("leaf_hash")?;
                let leaf = leaf_hash(&canonical);
                if encoded != canonical || stored_leaf != leaf {
                    problem = Some(format!(
                        "record #{seq} ({id}) was altered: its fields, its encoding and its hash disagree"
                    ));
                    break 'pages;
                }
                leaves.push(leaf);
                expected += 1;
            }
            progress(leaves.len() as u64, total);
        }
        let records = leaves.len() as u64;
        if problem.is_none() {
            problem = check_heads(&heads, &leaves, key);
        }
        Ok(VerifyReport {
            records,
            heads: heads.len() as u64,
            problem,
        })
    }
}

/// Every head must be validly signed, cover no more than the log holds, and
/// have the root of the records it covers; the oldest and the newest head
/// are also checked with an RFC 9162 consistency proof.
fn check_heads(
    heads: &[hippo_audit::SignedTreeHead],
    leaves: &[Hash],
    key: &VerifyingKey,
) -> Option<String> {
    let mut range = CompactRange::default();
    let mut previous = 0u64;
    for signed in heads {
        let head = signed.head;
        if !signed.verify(key) {
            return Some(format!(
                "the tree head for {} records has an invalid signature (forged or signed by another key)",
                head.size
            ));
        }
        if head.size > leaves.len() as u64 {
            return Some(format!(
                "the log was truncated: a signed head covers {} records, the log holds {}; records #{}..#{} are gone",
                head.size,
                leaves.len(),
                leaves.len() + 1,
                head.size
            ));
        }
        while range.size() < head.size {
            range.push(leaves[range.size() as usize]);
        }
        if range.root() != head.root {
            return Some(format!(
                "the records #{}..#{} do not match the signed head for {} records: one of them was changed, removed or reordered",
                previous + 1,
                head.size,
                head.size
            ));
        }
        previous = head.size;
    }
    if let (Some(first), Some(last)) = (heads.first(), heads.last())
        && first.head.size > 0
        && first.head.size < last.head.size
    {
        let n = last.head.size as usize;
        let proof = consistency_proof(first.head.size as usize, &leaves[..n])?;
        if !verify_consistency(
            first.head.size,
            last.head.size,
            &first.head.root,
            &last.head.root,
            &proof,
        ) {
            return Some("the oldest and newest signed heads are not consistent".into());
        }
    }
    None
}
