//! Granting SMART scopes (issue 13): a requested scope is granted only when
//! its context fits the principal and everything it names is something
//! that kind of principal may do at all; otherwise the whole request is
//! refused with the reason. What a kind "may do" is read from the route
//! table, which the Cedar policy is checked against at start-up, so a
//! scope can never reach further than the policy.

use std::collections::BTreeSet;

use hippo_core::PrincipalKind;
use hippo_core::smart_scope::{ScopeAccess, ScopeNeed, ScopeResource, ScopeSet};

use crate::declarations::{RouteSpec, declarations};
use crate::error::Failure;

/// What a scoped credential needs for a route: on the FHIR facade the
/// resource type in the path (a report, a value and a document are all a
/// finding read, yet three scopes), elsewhere the action's need. Every
/// FHIR route reads.
pub fn route_need(spec: &RouteSpec) -> ScopeNeed {
    if let Some(rest) = spec.path.strip_prefix(FHIR_BASE) {
        let type_name = rest.split('/').next().unwrap_or_default();
        return match ScopeResource::parse(type_name) {
            Some(resource) => ScopeNeed::Data(resource, ScopeAccess::Read),
            None => ScopeNeed::Unscopable,
        };
    }
    spec.action.scope_need()
}

const FHIR_BASE: &str = "/fhir/r4/";

/// The (resource, access) pairs some route lets `kind` use.
fn reachable(kind: PrincipalKind) -> BTreeSet<(ScopeResource, ScopeAccess)> {
    declarations()
        .iter()
        .filter(|spec| spec.allowed.contains(&kind))
        .filter_map(|spec| match route_need(spec) {
            ScopeNeed::Data(resource, access) => Some((resource, access)),
            _ => None,
        })
        .collect()
}

/// Parse and check a requested scope string for a principal of `kind`.
/// An explicit resource and access must be reachable; a wildcard must
/// reach something. The granted set is the requested one: the policy
/// still stops whatever the principal cannot do.
pub fn grant(kind: PrincipalKind, requested: &str) -> Result<ScopeSet, Failure> {
    let scopes = ScopeSet::parse(requested).map_err(|e| Failure::Invalid(e.to_string()))?;
    let reachable = reachable(kind);
    let mut refused = Vec::new();
    for scope in scopes.scopes() {
        if !scope.context.fits(kind) {
            refused.push(format!(
                "'{scope}': a {} cannot hold {}/ scopes",
                kind.as_str(),
                scope.context.as_str()
            ));
            continue;
        }
        let asks = scope.asks();
        let wildcard = scope.resource.is_none() || (scope.read && scope.write);
        let reached = asks.iter().filter(|pair| reachable.contains(pair)).count();
        let enough = if wildcard {
            reached > 0
        } else {
            reached == asks.len()
        };
        if !enough {
            refused.push(format!(
                "'{scope}' asks for more than a {} may do",
                kind.as_str()
            ));
        }
    }
    if refused.is_empty() {
        Ok(scopes)
    } else {
        Err(Failure::Invalid(format!("scope: {}", refused.join("; "))))
    }
}

/// A stored scope string, as the credential's limit. A string that no
/// longer parses grants nothing (fail closed) rather than everything.
pub fn stored(scopes: Option<&str>) -> Option<StoredScopes> {
    scopes.map(|text| match ScopeSet::parse(text) {
        Ok(set) => StoredScopes::Granted(set),
        Err(_) => StoredScopes::Unreadable,
    })
}

#[derive(Debug, Clone)]
pub enum StoredScopes {
    Granted(ScopeSet),
    Unreadable,
}

impl StoredScopes {
    /// For a route of the route table: its need, by path or action.
    pub fn permits(&self, spec: &RouteSpec) -> bool {
        self.meets(route_need(spec))
    }

    /// For intake outside the route table (MLLP), by the action's need.
    pub fn permits_action(&self, action: hippo_core::policy::Action) -> bool {
        self.meets(action.scope_need())
    }

    fn meets(&self, need: ScopeNeed) -> bool {
        match self {
            Self::Granted(set) => set.meets(need),
            Self::Unreadable => false,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use PrincipalKind::*;

    fn refusal(kind: PrincipalKind, scope: &str) -> String {
        match grant(kind, scope) {
            Err(Failure::Invalid(reason)) => reason,
            other => panic!("{scope} for {kind:?}: {other:?}"),
        }
    }

    #[test]
    fn scopes_within_the_principals_rights_are_granted() {
        for (kind, scope) in [
            (Patient, "patient/*.read"),
            (
                Patient,
                "patient/DiagnosticReport.read patient/Communication.*",
            ),
            (Patient, "user/AuditEvent.read"),
            (Patient, "patient/Patient.read patient/Observation.read"),
            (Clinician, "user/DiagnosticReport.read user/Patient.*"),
            (TenantAdmin, "user/AuditEvent.read"),
            (LabSystem, "system/DiagnosticReport.write"),
        ] {
            assert!(grant(kind, scope).is_ok(), "{kind:?} {scope}");
        }
    }

    #[test]
    fn scopes_beyond_the_principals_rights_are_refused_with_the_reason() {
        for (kind, scope, reason) in [
            (
                Patient,
                "system/DiagnosticReport.write",
                "cannot hold system/",
            ),
            (Patient, "user/DiagnosticReport.write", "asks for more"),
            (Patient, "patient/Patient.write", "asks for more"),
            (Clinician, "patient/*.read", "cannot hold patient/"),
            (Clinician, "user/AuditEvent.read", "asks for more"),
            (LabSystem, "system/Patient.read", "asks for more"),
            (
                LabSystem,
                "user/DiagnosticReport.write",
                "cannot hold user/",
            ),
            (Operator, "user/*.*", "asks for more"),
            (Patient, "patient/Medication.read", "unknown resource type"),
        ] {
            let got = refusal(kind, scope);
            assert!(got.contains(reason), "{kind:?} {scope}: {got}");
        }
    }
}
