//! Audit records: who did what to whose data, with what outcome.
//!
//! Records are append-only. Each has a canonical byte encoding (fixed field
//! order, length-prefixed) so that the Merkle log of a later stage can hash
//! exactly what was stored, independent of database or serializer.

use serde::Serialize;

use crate::ids::{AuditRecordId, PatientId, TenantId};
use crate::policy::{Action, ResourceKind};
use crate::principal::Principal;
use crate::time_util::UnixMillis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    /// The role may not perform the action at all.
    Denied,
    /// The object does not exist or is outside the caller's scope; the two
    /// are indistinguishable to the caller, and recorded alike.
    NotFound,
    /// Input was refused (validation, wrong transition, wrong credentials).
    Rejected,
    RateLimited,
    /// Refused because the principal produced too many not-found answers.
    Probing,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::NotFound => "not_found",
            Self::Rejected => "rejected",
            Self::RateLimited => "rate_limited",
            Self::Probing => "probing",
        }
    }
}

/// Who acted, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditActor {
    /// `patient`, `tenant_admin`, `clinician`, `assistant` or `anonymous`.
    pub kind: String,
    pub id: Option<String>,
    pub tenant_id: Option<TenantId>,
}

impl AuditActor {
    pub fn anonymous() -> Self {
        Self {
            kind: "anonymous".into(),
            id: None,
            tenant_id: None,
        }
    }

    pub fn of(principal: &Principal) -> Self {
        Self {
            kind: principal.kind().as_str().into(),
            id: Some(principal.actor_id()),
            tenant_id: principal.staff_tenant(),
        }
    }

    /// The holder of a retrieval code, known by the code's ID and acting
    /// for no one but themselves within the code's tenant.
    pub fn code_holder(holder: &crate::retrieval::CodeHolder) -> Self {
        Self {
            kind: "code_holder".into(),
            id: Some(holder.code_id.to_string()),
            tenant_id: Some(holder.tenant_id),
        }
    }

    /// An operator at the `hippo` command line; `user` is the login name
    /// of the shell that ran it, if known.
    pub fn operator_cli(user: Option<String>) -> Self {
        Self {
            kind: "operator_cli".into(),
            id: user,
            tenant_id: None,
        }
    }
}

/// Where a request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestOrigin {
    pub request_id: String,
    /// The route as declared in the route table, e.g.
    /// `GET /api/v1/findings/{id}/pdf`: forensics select by it.
    pub route: Option<String>,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestOrigin {
    /// A `hippo` command, e.g. `hippo keys rotate`, as the route.
    pub fn cli(command: &str) -> Self {
        Self {
            request_id: "cli".into(),
            route: Some(command.into()),
            ..Self::default()
        }
    }
}

/// What happened, as the acting layer describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    pub action: Action,
    pub resource_kind: ResourceKind,
    /// The ID the caller asked for or created; kept even for not-found
    /// outcomes so that probing is visible.
    pub resource_id: Option<String>,
    pub patient_id: Option<PatientId>,
    pub tenant_id: Option<TenantId>,
    pub outcome: Outcome,
    /// Short, non-personal detail (an error code, a state change).
    pub detail: Option<String>,
}

impl AuditEvent {
    pub fn new(action: Action, resource_kind: ResourceKind, outcome: Outcome) -> Self {
        Self {
            action,
            resource_kind,
            resource_id: None,
            patient_id: None,
            tenant_id: None,
            outcome,
            detail: None,
        }
    }

    pub fn resource(mut self, id: impl ToString) -> Self {
        self.resource_id = Some(id.to_string());
        self
    }

    pub fn concerning(mut self, tenant: TenantId, patient: Option<PatientId>) -> Self {
        self.tenant_id = Some(tenant);
        self.patient_id = patient;
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// A complete record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Position in the log, from 1; assigned when the record is appended.
    /// Internal: never shown to callers (public references use `id`).
    #[serde(skip)]
    pub seq: u64,
    pub id: AuditRecordId,
    pub at: UnixMillis,
    pub actor: AuditActor,
    pub event: AuditEvent,
    pub origin: RequestOrigin,
    /// Build that wrote the record, so a bug can be bounded to its builds.
    pub build: String,
    /// The actor's claim to the patient's data at the time (`own`,
    /// `tenant`, `system`, `none`, `n/a`); set when appended.
    pub claim: String,
}

/// The stored columns of a record as text, in canonical order. Both the
/// writer (from typed fields) and the verifier (from raw columns) encode
/// through this, so any edit of a column changes the encoding. `T` is
/// `str`, or `[u8]` for the verifier, which compares column bytes without
/// first checking that they are UTF-8 (any changed byte changes the
/// encoding either way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalFields<'a, T: ?Sized + AsRef<[u8]> = str> {
    pub seq: u64,
    pub at: i64,
    pub id: &'a T,
    pub actor_kind: &'a T,
    pub actor_id: Option<&'a T>,
    pub actor_tenant_id: Option<&'a T>,
    pub action: &'a T,
    pub resource_kind: &'a T,
    pub resource_id: Option<&'a T>,
    pub patient_id: Option<&'a T>,
    pub tenant_id: Option<&'a T>,
    pub outcome: &'a T,
    pub detail: Option<&'a T>,
    pub request_id: &'a T,
    pub route: Option<&'a T>,
    pub client_addr: Option<&'a T>,
    pub user_agent: Option<&'a T>,
    pub build: &'a T,
    pub claim: &'a T,
}

const ENCODING_VERSION: u8 = 2;

fn put(out: &mut Vec<u8>, field: Option<&[u8]>) {
    match field {
        // u32::MAX marks "absent", distinct from the empty string.
        None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
        Some(s) => {
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s);
        }
    }
}

impl<T: ?Sized + AsRef<[u8]>> CanonicalFields<'_, T> {
    /// Version byte, position, time, then every field in a fixed order,
    /// each length-prefixed. Two records encode equal iff equal.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(320);
        self.encode_into(&mut out);
        out
    }

    /// Encode into a reused buffer (verification encodes millions).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.clear();
        out.push(ENCODING_VERSION);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.at.to_be_bytes());
        for f in [
            Some(self.id),
            Some(self.actor_kind),
            self.actor_id,
            self.actor_tenant_id,
            Some(self.action),
            Some(self.resource_kind),
            self.resource_id,
            self.patient_id,
            self.tenant_id,
            Some(self.outcome),
            self.detail,
            Some(self.request_id),
            self.route,
            self.client_addr,
            self.user_agent,
            Some(self.build),
            Some(self.claim),
        ] {
            put(out, f.map(AsRef::as_ref));
        }
    }
}

impl<'a> CanonicalFields<'a, [u8]> {
    /// Read a canonical encoding back into its fields (proofs and exports
    /// carry encodings that come from outside). `None` unless `bytes` is
    /// exactly one well-formed encoding, so that decoding and encoding are
    /// inverse: a decoded record re-encodes to the same bytes.
    pub fn decode(bytes: &'a [u8]) -> Option<Self> {
        let (&version, mut rest) = bytes.split_first()?;
        if version != ENCODING_VERSION {
            return None;
        }
        let mut take = |n: usize| -> Option<&'a [u8]> {
            let (head, tail) = rest.split_at_checked(n)?;
            rest = tail;
            Some(head)
        };
        let seq = u64::from_be_bytes(take(8)?.try_into().ok()?);
        let at = i64::from_be_bytes(take(8)?.try_into().ok()?);
        let mut fields: [Option<&'a [u8]>; 17] = [None; 17];
        for field in &mut fields {
            let len = u32::from_be_bytes(take(4)?.try_into().ok()?);
            if len != u32::MAX {
                *field = Some(take(usize::try_from(len).ok()?)?);
            }
        }
        if !rest.is_empty() {
            return None;
        }
        let [
            id,
            actor_kind,
            actor_id,
            actor_tenant_id,
            action,
            resource_kind,
            resource_id,
            patient_id,
            tenant_id,
            outcome,
            detail,
            request_id,
            route,
            client_addr,
            user_agent,
            build,
            claim,
        ] = fields;
        Some(Self {
            seq,
            at,
            id: id?,
            actor_kind: actor_kind?,
            actor_id,
            actor_tenant_id,
            action: action?,
            resource_kind: resource_kind?,
            resource_id,
            patient_id,
            tenant_id,
            outcome: outcome?,
            detail,
            request_id: request_id?,
            route,
            client_addr,
            user_agent,
            build: build?,
            claim: claim?,
        })
    }
}

impl AuditRecord {
    /// The canonical encoding hashed into the Merkle log.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let id = self.id.to_string();
        let actor_tenant = self.actor.tenant_id.map(|t| t.to_string());
        let patient = self.event.patient_id.map(|p| p.to_string());
        let tenant = self.event.tenant_id.map(|t| t.to_string());
        CanonicalFields::<str> {
            seq: self.seq,
            at: self.at,
            id: &id,
            actor_kind: &self.actor.kind,
            actor_id: self.actor.id.as_deref(),
            actor_tenant_id: actor_tenant.as_deref(),
            action: self.event.action.as_str(),
            resource_kind: self.event.resource_kind.as_str(),
            resource_id: self.event.resource_id.as_deref(),
            patient_id: patient.as_deref(),
            tenant_id: tenant.as_deref(),
            outcome: self.event.outcome.as_str(),
            detail: self.event.detail.as_deref(),
            request_id: &self.origin.request_id,
            route: self.origin.route.as_deref(),
            client_addr: self.origin.client_addr.as_deref(),
            user_agent: self.origin.user_agent.as_deref(),
            build: &self.build,
            claim: &self.claim,
        }
        .encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AuditRecord {
        AuditRecord {
            seq: 1,
            id: AuditRecordId::random(),
            at: 1,
            actor: AuditActor::anonymous(),
            event: AuditEvent::new(Action::Login, ResourceKind::Session, Outcome::Rejected),
            origin: RequestOrigin::default(),
            build: "test".into(),
            claim: "n/a".into(),
        }
    }

    #[test]
    fn canonical_encoding_distinguishes_absent_from_empty() {
        let a = record();
        let mut b = a.clone();
        b.event.detail = Some(String::new());
        assert_ne!(a.canonical_bytes(), b.canonical_bytes());
        assert_eq!(a.canonical_bytes(), a.clone().canonical_bytes());
        let mut moved = a.clone();
        moved.seq = 2;
        assert_ne!(a.canonical_bytes(), moved.canonical_bytes());
    }

    #[test]
    fn canonical_encoding_decodes_back_and_nothing_else_does() {
        let mut full = record();
        full.event.detail = Some("listed=3".into());
        full.origin.user_agent = Some(String::new());
        for r in [record(), full] {
            let bytes = r.canonical_bytes();
            let decoded = CanonicalFields::<[u8]>::decode(&bytes).unwrap();
            assert_eq!(decoded.encode(), bytes);
            assert_eq!(decoded.seq, r.seq);
            assert_eq!(decoded.detail, r.event.detail.as_deref().map(str::as_bytes));
            // Any truncation, an extra byte, or another version is refused.
            for cut in 0..bytes.len() {
                assert!(CanonicalFields::<[u8]>::decode(&bytes[..cut]).is_none());
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(CanonicalFields::<[u8]>::decode(&longer).is_none());
            let mut other = bytes.clone();
            other[0] = 1;
            assert!(CanonicalFields::<[u8]>::decode(&other).is_none());
        }
    }
}
