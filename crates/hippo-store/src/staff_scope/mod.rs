//! What a facility's staff member (or its lab system) can reach: patients,
//! findings and API keys of their own tenant, and nothing else. Every
//! statement carries the tenant as a fence predicate, every connection sees
//! only that tenant's rows (PostgreSQL), and every loaded object is put to
//! the policy gate before it is returned or its access recorded
//! (`crate::admission`). One file per resource family.

// Issue 12: one patient record's access log for the facility.
mod access_log;
mod api_keys;
// Issue 13: messages one at a time for FHIR Communication.
mod communications;
mod findings;
// Issue 13: HL7 v2 ORU^R01 intake.
mod hl7_batch;
mod hl7_intake;
mod patients;
mod retrieval_codes;
mod staff_members;
mod threads;

pub use hl7_intake::{IntakeReceipt, LabIntake, PreparedIntake, store_hl7_group};
pub use patients::{PatientMatches, PatientSearch};
pub use retrieval_codes::NewRetrievalCode;
pub use staff_members::{INVITATION_VALIDITY_MS, NewStaffMember};

use hippo_core::{Principal, TenantId};

use crate::admission::{Connections, Gatekeeper, Request};
use crate::sql::TenantPool;
use crate::vault::Vault;

#[derive(Clone)]
pub struct StaffScope {
    gk: Gatekeeper,
    vault: Vault,
    tenant: TenantId,
    /// Staff ID or API key ID, recorded as a finding's submitter.
    actor_id: String,
}

impl StaffScope {
    pub(crate) fn new(
        pool: TenantPool,
        vault: Vault,
        principal: &Principal,
        request: Request,
    ) -> Option<Self> {
        let tenant = match principal {
            Principal::Staff { tenant_id, .. } | Principal::LabSystem { tenant_id, .. } => {
                *tenant_id
            }
            Principal::Patient { .. } | Principal::Operator { .. } => return None,
        };
        Some(Self {
            gk: Gatekeeper::new(request, Connections::Tenant(pool, tenant)),
            vault,
            tenant,
            actor_id: principal.actor_id(),
        })
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }
}
