//! Service switches: the parts of Hippo an operator can turn off, where
//! (everywhere or one tenant), and the snapshot of what is off now that
//! every request is checked against. Operational state, not policy: who
//! may do what stays in Cedar; this says whether a service runs at all.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::TenantId;
use crate::policy::Action;

/// A service that can be switched off on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Service {
    #[serde(rename = "login")]
    Login,
    #[serde(rename = "findings.read")]
    FindingsRead,
    #[serde(rename = "findings.download")]
    FindingsDownload,
    #[serde(rename = "findings.upload")]
    FindingsUpload,
    #[serde(rename = "messaging")]
    Messaging,
    #[serde(rename = "retrieval")]
    Retrieval,
    /// Every request made with a lab-system API key.
    #[serde(rename = "api")]
    Api,
}

impl Service {
    pub const ALL: [Service; 7] = [
        Self::Login,
        Self::FindingsRead,
        Self::FindingsDownload,
        Self::FindingsUpload,
        Self::Messaging,
        Self::Retrieval,
        Self::Api,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::FindingsRead => "findings.read",
            Self::FindingsDownload => "findings.download",
            Self::FindingsUpload => "findings.upload",
            Self::Messaging => "messaging",
            Self::Retrieval => "retrieval",
            Self::Api => "api",
        }
    }

    /// The valid names, for error messages.
    pub fn names() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A service name that is not one of [`Service::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown service {given:?}; valid services: {valid}", valid = Service::names())]
pub struct UnknownService {
    pub given: String,
}

impl FromStr for Service {
    type Err = UnknownService;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|service| service.as_str() == s)
            .ok_or_else(|| UnknownService {
                given: s.chars().take(64).collect(),
            })
    }
}

impl Action {
    /// The services a route with this action belongs to; it is refused
    /// while any of them is off for the caller's scope. An exhaustive
    /// match on purpose: a new action does not compile until it is
    /// classified. Actions of no service (home, logout, the operator
    /// console, forensics, the switches themselves) are never switched off.
    pub fn services(self) -> &'static [Service] {
        match self {
            // Enrolling a factor and setting the first password are part of logging in.
            Self::Login | Self::LoginSecondFactor | Self::LoginEnrol | Self::InvitationAccept => {
                &[Service::Login]
            }
            // A reset ends in a login; it stops with login (issue 12).
            Self::PasswordResetRequest | Self::PasswordResetConfirm => &[Service::Login],
            Self::OwnFindingsList
            | Self::FindingRead
            | Self::PatientFindingsList
            // FHIR searches of findings and their values (issue 13).
            | Self::FhirFindingSearch => &[Service::FindingsRead],
            Self::FindingPdfDownload => &[Service::FindingsDownload],
            // Release and retract are the findings' write path, like the
            // upload: none of it runs half while the switch is off.
            Self::FindingUpload
            | Self::Hl7Intake
            | Self::FindingRelease
            | Self::FindingRetract => &[Service::FindingsUpload],
            // Messaging (issue 11): all of it, reads and writes alike.
            Self::ThreadList
            | Self::ThreadCreate
            | Self::ThreadRead
            | Self::MessagePost
            | Self::ThreadAssign
            | Self::ThreadClose
            | Self::ThreadRetract
            | Self::AttachmentDownload => &[Service::Messaging],
            // Issuing and managing codes stops with redeeming them: a
            // broken retrieval service hands out nothing new either.
            Self::RetrievalCodeIssue
            | Self::RetrievalCodeList
            | Self::RetrievalCodeRevoke
            | Self::RetrievalRedeem
            | Self::RetrievalPdfDownload => &[Service::Retrieval],
            // One's own login credentials: like logout, never switched off
            // (a security measure must stay possible during an outage).
            Self::PasskeyList | Self::PasskeyRegister | Self::PasskeyDelete => &[],
            Self::Public
            // Ending one's sessions must work whatever is switched off.
            | Self::OwnSessionList
            | Self::OwnSessionRevoke
            // A narrower token is no more than the session it comes from.
            | Self::ScopedTokenIssue
            | Self::Logout
            | Self::ViewHome
            // One's own account settings stay reachable: they hold no
            // health data and are how a factor is replaced.
            | Self::AccountSecurityRead
            | Self::AccountTotpEnrol
            | Self::AccountTotpRemove
            | Self::AccountRecoveryCodesRenew
            | Self::PatientList
            | Self::PatientCreate
            | Self::PatientRead
            // A patient record as FHIR, like the JSON API's (issue 13).
            | Self::FhirPatientRead
            | Self::FhirPatientSearch
            | Self::TenantList
            | Self::ApiKeyList
            | Self::ApiKeyCreate
            | Self::ApiKeyRevoke
            | Self::StaffList
            | Self::StaffCreate
            | Self::StaffRoleChange
            | Self::StaffDeactivate
            | Self::StaffReactivate
            | Self::TenantSettingsRead
            | Self::TenantSettingsChange
            | Self::AccessLogRead
            | Self::AccessProofRead
            // Facility portal (issue 12): like the patient's own history.
            | Self::PatientAccessLogRead
            | Self::ForensicsQuery
            | Self::AlertList
            | Self::IncidentManage
            | Self::TenantDelete
            | Self::KeyRotate
            | Self::SwitchList
            | Self::SwitchChange => &[],
        }
    }
}

/// Where a switch applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SwitchScope {
    Everywhere,
    Tenant(TenantId),
}

impl SwitchScope {
    /// The tenant column's value: `None` for everywhere.
    pub fn tenant(self) -> Option<TenantId> {
        match self {
            Self::Everywhere => None,
            Self::Tenant(t) => Some(t),
        }
    }

    pub fn of(tenant: Option<TenantId>) -> Self {
        tenant.map_or(Self::Everywhere, Self::Tenant)
    }
}

impl fmt::Display for SwitchScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Everywhere => f.write_str("everywhere"),
            Self::Tenant(t) => write!(f, "tenant {t}"),
        }
    }
}

/// A service that is off in one scope, with what users are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    pub service: Service,
    pub scope: SwitchScope,
    /// The operator's message meant for users; never the internal reason.
    pub user_message: Option<String>,
}

/// What is off right now: a snapshot, replaced as a whole when the
/// switches change. Empty means everything runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwitchBoard {
    /// The version of the switch table this snapshot was read at.
    pub version: i64,
    off: Vec<Outage>,
}

impl SwitchBoard {
    pub fn new(version: i64, off: Vec<Outage>) -> Self {
        Self { version, off }
    }

    pub fn outages(&self) -> &[Outage] {
        &self.off
    }

    /// The outage, if any, that stops one of `services` everywhere.
    pub fn everywhere(&self, services: &[Service]) -> Option<&Outage> {
        self.off
            .iter()
            .find(|o| o.scope == SwitchScope::Everywhere && services.contains(&o.service))
    }

    /// The outage, if any, that stops one of `services` for `tenant`
    /// (switched off everywhere or for that tenant).
    pub fn for_tenant(&self, services: &[Service], tenant: TenantId) -> Option<&Outage> {
        self.everywhere(services).or_else(|| {
            self.off
                .iter()
                .find(|o| o.scope == SwitchScope::Tenant(tenant) && services.contains(&o.service))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_round_trip_and_unknown_names_list_the_valid_ones() {
        for service in Service::ALL {
            assert_eq!(service.as_str().parse::<Service>().unwrap(), service);
        }
        let error = "findings".parse::<Service>().unwrap_err();
        let shown = error.to_string();
        assert!(shown.contains("\"findings\""), "{shown}");
        for service in Service::ALL {
            assert!(shown.contains(service.as_str()), "{shown}");
        }
    }

    #[test]
    fn switches_never_stop_the_console_or_themselves() {
        for action in [
            Action::SwitchList,
            Action::SwitchChange,
            Action::ForensicsQuery,
            Action::Logout,
            Action::ViewHome,
        ] {
            assert!(action.services().is_empty(), "{action:?}");
        }
    }

    #[test]
    fn a_tenant_outage_stops_that_tenant_only() {
        let (a, b) = (TenantId::random(), TenantId::random());
        let board = SwitchBoard::new(
            1,
            vec![Outage {
                service: Service::FindingsRead,
                scope: SwitchScope::Tenant(a),
                user_message: None,
            }],
        );
        assert!(board.for_tenant(&[Service::FindingsRead], a).is_some());
        assert!(board.for_tenant(&[Service::FindingsRead], b).is_none());
        assert!(board.for_tenant(&[Service::FindingsUpload], a).is_none());
        assert!(board.everywhere(&[Service::FindingsRead]).is_none());
    }
}
