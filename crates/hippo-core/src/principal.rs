//! Who is asking. A `Principal` is only ever built from a verified session
//! (see hippo-server's extractor); handlers receive it, never raw IDs of the
//! caller from the request.

use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, PatientId, StaffId, TenantId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    TenantAdmin,
    Clinician,
    Assistant,
}

impl StaffRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TenantAdmin => "tenant_admin",
            Self::Clinician => "clinician",
            Self::Assistant => "assistant",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tenant_admin" => Some(Self::TenantAdmin),
            "clinician" => Some(Self::Clinician),
            "assistant" => Some(Self::Assistant),
            _ => None,
        }
    }
}

/// One patient record of a person's account: the person is a patient of
/// `tenant_id` under record `patient_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PatientLink {
    pub tenant_id: TenantId,
    pub patient_id: PatientId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Staff {
        staff_id: StaffId,
        tenant_id: TenantId,
        role: StaffRole,
        display_name: String,
    },
    Patient {
        account_id: AccountId,
        display_name: String,
        links: Vec<PatientLink>,
    },
}

/// The kind of a principal, which is what the policy table speaks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    Patient,
    TenantAdmin,
    Clinician,
    Assistant,
}

impl PrincipalKind {
    pub const ALL: [PrincipalKind; 4] = [
        Self::Patient,
        Self::TenantAdmin,
        Self::Clinician,
        Self::Assistant,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::TenantAdmin => "tenant_admin",
            Self::Clinician => "clinician",
            Self::Assistant => "assistant",
        }
    }
}

impl Principal {
    pub fn kind(&self) -> PrincipalKind {
        match self {
            Self::Patient { .. } => PrincipalKind::Patient,
            Self::Staff { role, .. } => match role {
                StaffRole::TenantAdmin => PrincipalKind::TenantAdmin,
                StaffRole::Clinician => PrincipalKind::Clinician,
                StaffRole::Assistant => PrincipalKind::Assistant,
            },
        }
    }

    /// The actor's ID as recorded in the audit log.
    pub fn actor_id(&self) -> String {
        match self {
            Self::Staff { staff_id, .. } => staff_id.to_string(),
            Self::Patient { account_id, .. } => account_id.to_string(),
        }
    }

    /// The tenant a staff member belongs to; patients act for themselves.
    pub fn staff_tenant(&self) -> Option<TenantId> {
        match self {
            Self::Staff { tenant_id, .. } => Some(*tenant_id),
            Self::Patient { .. } => None,
        }
    }

    pub fn display_name(&self) -> &str {
        match self {
            Self::Staff { display_name, .. } | Self::Patient { display_name, .. } => display_name,
        }
    }
}
