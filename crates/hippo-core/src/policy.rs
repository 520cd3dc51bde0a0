//! The access policy as data: which principal kind may perform which action.
//!
//! This decides the *role* question only ("may a patient list patients?").
//! The *object* question ("is this finding theirs?") is answered by the scoped
//! store, whose SQL carries tenant and subject; both fences must agree.

use serde::Serialize;

use crate::principal::PrincipalKind;

/// Everything a route can do. Each route declares exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Anonymous pages and endpoints: login form, API document, assets.
    Public,
    Login,
    Logout,
    /// Landing page after login.
    ViewHome,
    /// A patient lists their own released findings.
    OwnFindingsList,
    FindingRead,
    FindingPdfDownload,
    PatientList,
    PatientCreate,
    PatientRead,
    PatientFindingsList,
    FindingUpload,
    FindingRelease,
    FindingRetract,
}

/// What kind of object an action touches; recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    None,
    Session,
    Patient,
    Finding,
    FindingPdf,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Session => "session",
            Self::Patient => "patient",
            Self::Finding => "finding",
            Self::FindingPdf => "finding_pdf",
        }
    }
}

use PrincipalKind::{Assistant, Clinician, Patient, TenantAdmin};

const STAFF: &[PrincipalKind] = &[TenantAdmin, Clinician, Assistant];
const CLINICAL_STAFF: &[PrincipalKind] = &[Clinician, Assistant];
const EVERYONE: &[PrincipalKind] = &[Patient, TenantAdmin, Clinician, Assistant];

/// The policy table. Deny by default: an action absent here, or a kind not
/// listed for it, is refused. Tenant admins manage the facility but perform
/// no clinical acts (upload, release, retract).
const GRANTS: &[(Action, &[PrincipalKind])] = &[
    (Action::Logout, EVERYONE),
    (Action::ViewHome, EVERYONE),
    (Action::OwnFindingsList, &[Patient]),
    (Action::FindingRead, EVERYONE),
    (Action::FindingPdfDownload, EVERYONE),
    (Action::PatientList, STAFF),
    (Action::PatientCreate, STAFF),
    (Action::PatientRead, STAFF),
    (Action::PatientFindingsList, STAFF),
    (Action::FindingUpload, CLINICAL_STAFF),
    (Action::FindingRelease, CLINICAL_STAFF),
    (Action::FindingRetract, CLINICAL_STAFF),
];

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Login => "login",
            Self::Logout => "logout",
            Self::ViewHome => "view_home",
            Self::OwnFindingsList => "own_findings_list",
            Self::FindingRead => "finding_read",
            Self::FindingPdfDownload => "finding_pdf_download",
            Self::PatientList => "patient_list",
            Self::PatientCreate => "patient_create",
            Self::PatientRead => "patient_read",
            Self::PatientFindingsList => "patient_findings_list",
            Self::FindingUpload => "finding_upload",
            Self::FindingRelease => "finding_release",
            Self::FindingRetract => "finding_retract",
        }
    }

    /// Actions that need no session at all.
    pub fn is_anonymous(self) -> bool {
        matches!(self, Self::Public | Self::Login)
    }
}

/// The one decision point for role-level access.
pub fn permits(kind: PrincipalKind, action: Action) -> bool {
    GRANTS
        .iter()
        .any(|(granted, kinds)| *granted == action && kinds.contains(&kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_by_default() {
        assert!(!permits(Patient, Action::PatientList));
        assert!(!permits(TenantAdmin, Action::FindingRelease));
        assert!(!permits(Patient, Action::FindingUpload));
        assert!(permits(Clinician, Action::FindingRelease));
        assert!(permits(Patient, Action::OwnFindingsList));
        assert!(!permits(Clinician, Action::OwnFindingsList));
    }

    #[test]
    fn every_authenticated_action_is_granted_to_someone() {
        for (action, kinds) in GRANTS {
            assert!(!kinds.is_empty(), "{action:?} grants nobody");
            assert!(!action.is_anonymous());
        }
    }
}
