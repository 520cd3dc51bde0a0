//! Who is asking. A `Principal` is only ever built from a verified session
//! (see hippo-server's extractor); handlers receive it, never raw IDs of the
//! caller from the request.

use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, ApiKeyId, OperatorId, PatientId, StaffId, TenantId};

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
    /// The vendor's on-call staff: tenant metadata, never report contents.
    Operator {
        operator_id: OperatorId,
        display_name: String,
    },
    /// A facility's lab system, authenticated by a tenant-scoped API key.
    LabSystem {
        key_id: ApiKeyId,
        tenant_id: TenantId,
        display_name: String,
    },
}

/// The kind of a principal, which is what the policy table speaks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    Operator,
    TenantAdmin,
    Clinician,
    Assistant,
    Patient,
    LabSystem,
}

impl PrincipalKind {
    pub const ALL: [PrincipalKind; 6] = [
        Self::Operator,
        Self::TenantAdmin,
        Self::Clinician,
        Self::Assistant,
        Self::Patient,
        Self::LabSystem,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::TenantAdmin => "tenant_admin",
            Self::Clinician => "clinician",
            Self::Assistant => "assistant",
            Self::Patient => "patient",
            Self::LabSystem => "lab_system",
        }
    }

    pub fn is_staff(self) -> bool {
        matches!(self, Self::TenantAdmin | Self::Clinician | Self::Assistant)
    }
}

impl Principal {
    pub fn kind(&self) -> PrincipalKind {
        match self {
            Self::Patient { .. } => PrincipalKind::Patient,
            Self::Operator { .. } => PrincipalKind::Operator,
            Self::LabSystem { .. } => PrincipalKind::LabSystem,
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
            Self::Operator { operator_id, .. } => operator_id.to_string(),
            Self::LabSystem { key_id, .. } => key_id.to_string(),
        }
    }

    /// The tenant a staff member or lab system acts for; patients and
    /// operators belong to none.
    pub fn staff_tenant(&self) -> Option<TenantId> {
        match self {
            Self::Staff { tenant_id, .. } | Self::LabSystem { tenant_id, .. } => Some(*tenant_id),
            Self::Patient { .. } | Self::Operator { .. } => None,
        }
    }

    pub fn display_name(&self) -> &str {
        match self {
            Self::Staff { display_name, .. }
            | Self::Patient { display_name, .. }
            | Self::Operator { display_name, .. }
            | Self::LabSystem { display_name, .. } => display_name,
        }
    }
}
