//! SMART-on-FHIR style scopes (`patient/*.read`, `user/DiagnosticReport.read`,
//! `system/DiagnosticReport.write`) and what each action needs of them
//! (issue 13). A scope only ever narrows what a credential may do: the
//! Cedar policy still decides every request, and a credential without
//! scopes keeps the full rights of its principal.
//!
//! Hand-written: no crate parses SMART scopes into something that maps onto
//! our own action vocabulary, and the grammar is small (SMART App Launch
//! 1.0 `.read`/`.write`/`.*`, and 2.0's `cruds` letters).

use std::fmt;

use crate::error::DomainError;
use crate::policy::Action;
use crate::principal::PrincipalKind;

/// Whose data a scope speaks of: the patient in context, whatever the
/// user may see, or a backend system acting for its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeContext {
    Patient,
    User,
    System,
}

impl ScopeContext {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::User => "user",
            Self::System => "system",
        }
    }

    /// The principal kinds a context can be granted to: `patient/` to
    /// patients (their own compartment), `user/` to people with an
    /// account, `system/` to lab systems (API keys).
    pub fn fits(self, kind: PrincipalKind) -> bool {
        match self {
            Self::Patient => kind == PrincipalKind::Patient,
            Self::User => !matches!(kind, PrincipalKind::LabSystem),
            Self::System => kind == PrincipalKind::LabSystem,
        }
    }
}

/// The FHIR resource types Hippo's data is seen as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeResource {
    Patient,
    DiagnosticReport,
    Observation,
    DocumentReference,
    Binary,
    Communication,
    AuditEvent,
}

impl ScopeResource {
    pub const ALL: [ScopeResource; 7] = [
        Self::Patient,
        Self::DiagnosticReport,
        Self::Observation,
        Self::DocumentReference,
        Self::Binary,
        Self::Communication,
        Self::AuditEvent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "Patient",
            Self::DiagnosticReport => "DiagnosticReport",
            Self::Observation => "Observation",
            Self::DocumentReference => "DocumentReference",
            Self::Binary => "Binary",
            Self::Communication => "Communication",
            Self::AuditEvent => "AuditEvent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Reading (read and search) or writing (create, update, delete).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeAccess {
    Read,
    Write,
}

/// What an action needs of a scoped credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeNeed {
    /// Access of this kind to this resource type.
    Data(ScopeResource, ScopeAccess),
    /// Nothing: a scoped token may always end itself.
    Nothing,
    /// Out of reach of every scope: account, staff, key and operator
    /// business needs an unscoped credential.
    Unscopable,
}

impl Action {
    /// What a scoped credential needs to perform this action.
    pub fn scope_need(self) -> ScopeNeed {
        use ScopeAccess::{Read, Write};
        use ScopeResource as R;
        let data = ScopeNeed::Data;
        match self {
            Self::OwnFindingsList | Self::FindingRead | Self::PatientFindingsList => {
                data(R::DiagnosticReport, Read)
            }
            Self::FindingUpload | Self::FindingRelease | Self::FindingRetract | Self::Hl7Intake => {
                data(R::DiagnosticReport, Write)
            }
            Self::FindingPdfDownload => data(R::Binary, Read),
            Self::PatientList
            | Self::PatientRead
            | Self::FhirPatientRead
            | Self::FhirPatientSearch => data(R::Patient, Read),
            // FHIR routes name their resource type in the path, which
            // decides there (`hippo-server::scope_grant::route_need`).
            Self::FhirFindingSearch => data(R::DiagnosticReport, Read),
            Self::PatientCreate => data(R::Patient, Write),
            Self::ThreadList | Self::ThreadRead | Self::AttachmentDownload => {
                data(R::Communication, Read)
            }
            Self::ThreadCreate
            | Self::MessagePost
            | Self::ThreadAssign
            | Self::ThreadClose
            | Self::ThreadRetract => data(R::Communication, Write),
            Self::AccessLogRead | Self::AccessProofRead | Self::PatientAccessLogRead => {
                data(R::AuditEvent, Read)
            }
            Self::Logout => ScopeNeed::Nothing,
            _ => ScopeNeed::Unscopable,
        }
    }
}

/// One scope: context, resource type (`None` for `*`) and the accesses it
/// grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SmartScope {
    pub context: ScopeContext,
    pub resource: Option<ScopeResource>,
    pub read: bool,
    pub write: bool,
}

const MAX_SCOPES: usize = 32;
const MAX_SCOPE_TEXT: usize = 1024;

impl SmartScope {
    /// Parse one scope such as `patient/Observation.read` or
    /// `user/*.rs`; the error names the scope and what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let invalid = |reason: &str| DomainError::invalid("scope", format!("'{text}': {reason}"));
        let (context, rest) = text
            .split_once('/')
            .ok_or_else(|| invalid("expected context/Resource.access"))?;
        let context = match context {
            "patient" => ScopeContext::Patient,
            "user" => ScopeContext::User,
            "system" => ScopeContext::System,
            _ => return Err(invalid("the context must be patient, user or system")),
        };
        let (resource, access) = rest
            .split_once('.')
            .ok_or_else(|| invalid("expected Resource.access"))?;
        let resource = match resource {
            "*" => None,
            name => Some(ScopeResource::parse(name).ok_or_else(|| {
                invalid("unknown resource type (Patient, DiagnosticReport, Observation, DocumentReference, Binary, Communication, AuditEvent or *)")
            })?),
        };
        let (read, write) = match access {
            "read" => (true, false),
            "write" => (false, true),
            "*" => (true, true),
            letters => cruds(letters).ok_or_else(|| {
                invalid("the access must be read, write, * or letters of cruds in that order")
            })?,
        };
        Ok(Self {
            context,
            resource,
            read,
            write,
        })
    }

    pub fn covers(&self, resource: ScopeResource, access: ScopeAccess) -> bool {
        self.resource.is_none_or(|r| r == resource)
            && match access {
                ScopeAccess::Read => self.read,
                ScopeAccess::Write => self.write,
            }
    }

    /// The (resource, access) pairs this scope asks for.
    pub fn asks(&self) -> Vec<(ScopeResource, ScopeAccess)> {
        let resources = match self.resource {
            Some(r) => vec![r],
            None => ScopeResource::ALL.to_vec(),
        };
        let mut pairs = Vec::new();
        for r in resources {
            if self.read {
                pairs.push((r, ScopeAccess::Read));
            }
            if self.write {
                pairs.push((r, ScopeAccess::Write));
            }
        }
        pairs
    }
}

/// SMART 2.0 access letters: a non-empty subsequence of `cruds`.
fn cruds(letters: &str) -> Option<(bool, bool)> {
    let mut rest = "cruds";
    if letters.is_empty() {
        return None;
    }
    for c in letters.chars() {
        let at = rest.find(c)?;
        rest = &rest[at + 1..];
    }
    let read = letters.contains('r') || letters.contains('s');
    let write = letters.contains('c') || letters.contains('u') || letters.contains('d');
    Some((read, write))
}

impl fmt::Display for SmartScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let resource = self.resource.map_or("*", ScopeResource::as_str);
        let access = match (self.read, self.write) {
            (true, true) => "*",
            (true, false) => "read",
            _ => "write",
        };
        write!(f, "{}/{resource}.{access}", self.context.as_str())
    }
}

/// The scopes of one credential, as granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeSet(Vec<SmartScope>);

impl ScopeSet {
    /// Parse a space-separated scope string (the OAuth `scope` parameter).
    /// Tokens that are not resource scopes (`openid`, `launch/patient`)
    /// are refused rather than ignored: Hippo grants nothing for them.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        if text.len() > MAX_SCOPE_TEXT {
            return Err(DomainError::invalid(
                "scope",
                format!("must be at most {MAX_SCOPE_TEXT} characters"),
            ));
        }
        let mut scopes = text
            .split_ascii_whitespace()
            .map(SmartScope::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if scopes.is_empty() {
            return Err(DomainError::invalid("scope", "names no scope"));
        }
        if scopes.len() > MAX_SCOPES {
            return Err(DomainError::invalid(
                "scope",
                format!("at most {MAX_SCOPES} scopes"),
            ));
        }
        scopes.sort();
        scopes.dedup();
        Ok(Self(scopes))
    }

    pub fn scopes(&self) -> &[SmartScope] {
        &self.0
    }

    /// Whether a credential with these scopes may perform `action` (the
    /// policy decides the rest).
    pub fn permits(&self, action: Action) -> bool {
        self.meets(action.scope_need())
    }

    /// Whether these scopes meet a need.
    pub fn meets(&self, need: ScopeNeed) -> bool {
        match need {
            ScopeNeed::Nothing => true,
            ScopeNeed::Unscopable => false,
            ScopeNeed::Data(resource, access) => self.0.iter().any(|s| s.covers(resource, access)),
        }
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let texts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&texts.join(" "))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn smart_v1_and_v2_scopes_parse_to_the_same_grants() {
        let v1 = ScopeSet::parse("patient/Observation.read user/*.write").unwrap();
        let v2 = ScopeSet::parse("patient/Observation.rs user/*.cud").unwrap();
        assert_eq!(v1, v2);
        assert_eq!(v1.to_string(), "patient/Observation.read user/*.write");
        assert_eq!(
            ScopeSet::parse("system/DiagnosticReport.*")
                .unwrap()
                .to_string(),
            "system/DiagnosticReport.*"
        );
    }

    #[test]
    fn malformed_scopes_are_refused_with_the_reason() {
        for (text, reason) in [
            ("", "names no scope"),
            ("openid", "expected context/Resource.access"),
            ("launch/patient", "context must be"),
            ("patient/Observation", "expected Resource.access"),
            ("patient/Medication.read", "unknown resource type"),
            ("patient/Observation.sr", "letters of cruds"),
            ("patient/Observation.x", "letters of cruds"),
        ] {
            let error = ScopeSet::parse(text).unwrap_err().to_string();
            assert!(error.contains(reason), "{text}: {error}");
        }
        let many = vec!["user/Patient.read"; MAX_SCOPES + 1].join(" ");
        assert!(ScopeSet::parse(&many).is_err());
    }

    #[test]
    fn a_scope_permits_exactly_the_actions_of_its_resource_and_access() {
        let reports = ScopeSet::parse("patient/DiagnosticReport.read").unwrap();
        assert!(reports.permits(Action::FindingRead));
        assert!(reports.permits(Action::OwnFindingsList));
        assert!(reports.permits(Action::Logout));
        assert!(!reports.permits(Action::FindingPdfDownload));
        assert!(!reports.permits(Action::FindingUpload));
        assert!(!reports.permits(Action::ThreadList));
        assert!(!reports.permits(Action::OwnSessionList));
        let all = ScopeSet::parse("user/*.*").unwrap();
        for action in Action::ALL {
            assert_eq!(
                all.permits(action),
                action.scope_need() != ScopeNeed::Unscopable,
                "{action:?}"
            );
        }
    }

    #[test]
    fn contexts_fit_their_principal_kinds_only() {
        use PrincipalKind::*;
        assert!(ScopeContext::Patient.fits(Patient));
        assert!(!ScopeContext::Patient.fits(Clinician));
        assert!(ScopeContext::User.fits(Clinician));
        assert!(!ScopeContext::User.fits(LabSystem));
        assert!(ScopeContext::System.fits(LabSystem));
        assert!(!ScopeContext::System.fits(Patient));
    }
}
