//! Hippo's policy decision point: Cedar policies (`policy/hippo.cedar`)
//! validated against a Cedar schema (`policy/hippo.cedarschema`) when loaded,
//! so a policy that names a wrong attribute or action cannot start.
//!
//! Every decision is about one principal, one action and one loaded object
//! with its owner attributes (tenant, patient, status). The scoped store asks
//! through [`hippo_core::policy::AccessGate`]; the route table's declared
//! principal kinds are checked against the same policy at start-up.

#[cfg(all(feature = "fence-bypass", not(debug_assertions)))]
compile_error!("the fence-bypass feature exists for tests only and is refused in release builds");

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use hippo_core::policy::{AccessGate, Action, ResourceRef};
use hippo_core::retrieval::CodeHolder;
use hippo_core::{PatientId, Principal, StaffRole, TenantId};

pub const POLICY_SOURCE: &str = include_str!("../policy/hippo.cedar");
pub const SCHEMA_SOURCE: &str = include_str!("../policy/hippo.cedarschema");

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the Cedar schema does not parse: {0}")]
    Schema(String),
    #[error("the Cedar policies do not parse: {0}")]
    Parse(String),
    #[error("the Cedar policies do not validate against the schema: {0}")]
    Invalid(String),
}

/// The loaded, validated policy.
pub struct Policy {
    schema: Schema,
    policies: PolicySet,
    authorizer: Authorizer,
    #[cfg(feature = "fence-bypass")]
    bypass: bool,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy").finish_non_exhaustive()
    }
}

fn uid(kind: &str, id: impl ToString) -> Option<EntityUid> {
    let name = EntityTypeName::from_str(&format!("Hippo::{kind}")).ok()?;
    Some(EntityUid::from_type_name_and_id(
        name,
        EntityId::new(id.to_string()),
    ))
}

fn tenant_uid(t: TenantId) -> Option<EntityUid> {
    uid("Tenant", t)
}

fn patient_uid(p: PatientId) -> Option<EntityUid> {
    uid("Patient", p)
}

fn entity(uid: EntityUid, attrs: Vec<(&str, RestrictedExpression)>) -> Option<Entity> {
    let attrs: HashMap<String, RestrictedExpression> =
        attrs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    Entity::new(uid, attrs, HashSet::new()).ok()
}

fn ent(uid: EntityUid) -> RestrictedExpression {
    RestrictedExpression::new_entity_uid(uid)
}

fn principal_entity(principal: &Principal) -> Option<Entity> {
    match principal {
        Principal::Staff {
            staff_id,
            tenant_id,
            role,
            ..
        } => entity(
            uid("Staff", staff_id)?,
            vec![
                ("tenant", ent(tenant_uid(*tenant_id)?)),
                (
                    "role",
                    RestrictedExpression::new_string(
                        match role {
                            StaffRole::TenantAdmin => "tenant_admin",
                            StaffRole::Clinician => "clinician",
                            StaffRole::Assistant => "assistant",
                        }
                        .to_owned(),
                    ),
                ),
            ],
        ),
        Principal::Patient {
            account_id, links, ..
        } => {
            let patients = links
                .iter()
                .map(|l| patient_uid(l.patient_id).map(ent))
                .collect::<Option<Vec<_>>>()?;
            entity(
                uid("PatientAccount", account_id)?,
                vec![("patients", RestrictedExpression::new_set(patients))],
            )
        }
        Principal::Operator { operator_id, .. } => entity(uid("Operator", operator_id)?, vec![]),
        Principal::LabSystem {
            key_id, tenant_id, ..
        } => entity(
            uid("LabSystem", key_id)?,
            vec![("tenant", ent(tenant_uid(*tenant_id)?))],
        ),
    }
}

fn resource_entity(resource: &ResourceRef) -> Option<Entity> {
    match *resource {
        ResourceRef::Platform => entity(uid("Platform", "hippo")?, vec![]),
        ResourceRef::Tenant(t) => entity(tenant_uid(t)?, vec![]),
        ResourceRef::Account(a) => entity(
            uid("PatientAccount", a)?,
            vec![("patients", RestrictedExpression::new_set(Vec::new()))],
        ),
        ResourceRef::Patient { tenant, patient } => entity(
            patient_uid(patient)?,
            vec![("tenant", ent(tenant_uid(tenant)?))],
        ),
        ResourceRef::Finding {
            tenant,
            patient,
            finding,
            status,
        }
        | ResourceRef::FindingPdf {
            tenant,
            patient,
            finding,
            status,
        } => {
            let kind = if matches!(resource, ResourceRef::Finding { .. }) {
                "Finding"
            } else {
                "FindingPdf"
            };
            entity(
                uid(kind, finding)?,
                vec![
                    ("tenant", ent(tenant_uid(tenant)?)),
                    ("patient", ent(patient_uid(patient)?)),
                    (
                        "status",
                        RestrictedExpression::new_string(status.as_str().to_owned()),
                    ),
                ],
            )
        }
        ResourceRef::ApiKey { tenant, key } => entity(
            uid("ApiKey", key)?,
            vec![("tenant", ent(tenant_uid(tenant)?))],
        ),
        ResourceRef::StaffUser { tenant, staff } => entity(
            uid("StaffUser", staff)?,
            vec![("tenant", ent(tenant_uid(tenant)?))],
        ),
        ResourceRef::RetrievalCode { tenant, code } => entity(
            uid("RetrievalCode", code)?,
            vec![("tenant", ent(tenant_uid(tenant)?))],
        ),
        ResourceRef::AuditEntry { tenant, patient } => entity(
            uid("AuditEntry", format!("{tenant}/{patient}"))?,
            vec![
                ("tenant", ent(tenant_uid(tenant)?)),
                ("patient", ent(patient_uid(patient)?)),
            ],
        ),
        ResourceRef::Thread {
            tenant,
            patient,
            thread,
            status,
        } => owned_with_status("Thread", thread, tenant, patient, status.as_str()),
        ResourceRef::Attachment {
            tenant,
            patient,
            attachment,
            thread_status,
        } => owned_with_status(
            "Attachment",
            attachment,
            tenant,
            patient,
            thread_status.as_str(),
        ),
    }
}

/// A messaging object: its tenant, its patient record and a status.
fn owned_with_status(
    kind: &str,
    id: impl ToString,
    tenant: TenantId,
    patient: PatientId,
    status: &str,
) -> Option<Entity> {
    entity(
        uid(kind, id)?,
        vec![
            ("tenant", ent(tenant_uid(tenant)?)),
            ("patient", ent(patient_uid(patient)?)),
            (
                "status",
                RestrictedExpression::new_string(status.to_owned()),
            ),
        ],
    )
}

impl Policy {
    /// Parse and strictly validate the built-in policy.
    pub fn load() -> Result<Self, PolicyError> {
        Self::from_sources(POLICY_SOURCE, SCHEMA_SOURCE)
    }

    pub fn from_sources(policy: &str, schema: &str) -> Result<Self, PolicyError> {
        let (schema, _warnings) =
            Schema::from_cedarschema_str(schema).map_err(|e| PolicyError::Schema(e.to_string()))?;
        let policies =
            PolicySet::from_str(policy).map_err(|e| PolicyError::Parse(e.to_string()))?;
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !result.validation_passed() {
            let errors: Vec<String> = result.validation_errors().map(|e| e.to_string()).collect();
            return Err(PolicyError::Invalid(errors.join("; ")));
        }
        Ok(Self {
            schema,
            policies,
            authorizer: Authorizer::new(),
            #[cfg(feature = "fence-bypass")]
            bypass: false,
        })
    }

    /// Test-only: a policy that allows everything, to show that the scoped
    /// store holds on its own.
    #[cfg(feature = "fence-bypass")]
    pub fn bypassed_for_tests() -> Result<Self, PolicyError> {
        let mut policy = Self::load()?;
        policy.bypass = true;
        Ok(policy)
    }

    /// The one decision: may `principal` perform `action` on `resource`?
    /// Anything that cannot be expressed (an action outside the schema, an
    /// entity that does not validate) is a denial.
    pub fn decide(&self, principal: &Principal, action: Action, resource: &ResourceRef) -> bool {
        #[cfg(feature = "fence-bypass")]
        if self.bypass {
            return true;
        }
        self.evaluate(principal, action, resource).unwrap_or(false)
    }

    fn evaluate(
        &self,
        principal: &Principal,
        action: Action,
        resource: &ResourceRef,
    ) -> Option<bool> {
        self.evaluate_entity(principal_entity(principal)?, action, resource)
    }

    fn evaluate_entity(&self, p: Entity, action: Action, resource: &ResourceRef) -> Option<bool> {
        let r = resource_entity(resource)?;
        let action_uid = uid("Action", action.as_str())?;
        let request = Request::new(
            p.uid(),
            action_uid,
            r.uid(),
            Context::empty(),
            Some(&self.schema),
        )
        .ok()?;
        // A patient account asking about its own collection is one entity,
        // not two.
        let entities = if p.uid() == r.uid() {
            vec![p]
        } else {
            vec![p, r]
        };
        let entities = Entities::from_entities(entities, Some(&self.schema)).ok()?;
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &entities);
        Some(response.decision() == Decision::Allow)
    }

    /// May the holder of a retrieval code perform `action` on `resource`?
    /// The holder is its own principal kind (`CodeHolder`), bound to the
    /// one finding of its code.
    pub fn decide_for_code_holder(
        &self,
        holder: &CodeHolder,
        action: Action,
        resource: &ResourceRef,
    ) -> bool {
        #[cfg(feature = "fence-bypass")]
        if self.bypass {
            return true;
        }
        code_holder_entity(holder)
            .and_then(|p| self.evaluate_entity(p, action, resource))
            .unwrap_or(false)
    }

    /// A gate bound to one code holder, for its scoped store handle.
    pub fn code_holder_gate(self: &Arc<Self>, holder: &CodeHolder) -> Arc<dyn AccessGate> {
        Arc::new(CodeHolderGate {
            policy: Arc::clone(self),
            holder: *holder,
        })
    }

    /// A gate bound to one principal, for a scoped store handle.
    pub fn gate(self: &Arc<Self>, principal: &Principal) -> Arc<dyn AccessGate> {
        Arc::new(PrincipalGate {
            policy: Arc::clone(self),
            principal: principal.clone(),
        })
    }
}

struct PrincipalGate {
    policy: Arc<Policy>,
    principal: Principal,
}

impl AccessGate for PrincipalGate {
    fn permits(&self, action: Action, resource: &ResourceRef) -> bool {
        self.policy.decide(&self.principal, action, resource)
    }
}

struct CodeHolderGate {
    policy: Arc<Policy>,
    holder: CodeHolder,
}

impl AccessGate for CodeHolderGate {
    fn permits(&self, action: Action, resource: &ResourceRef) -> bool {
        self.policy
            .decide_for_code_holder(&self.holder, action, resource)
    }
}

/// The holder, bound to its code's finding and that finding's PDF.
fn code_holder_entity(holder: &CodeHolder) -> Option<Entity> {
    entity(
        uid("CodeHolder", holder.code_id)?,
        vec![
            ("finding", ent(uid("Finding", holder.finding_id)?)),
            ("report", ent(uid("FindingPdf", holder.finding_id)?)),
        ],
    )
}

#[cfg(test)]
mod tests;
