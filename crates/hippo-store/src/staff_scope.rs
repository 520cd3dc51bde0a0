//! What a facility's staff member (or its lab system) can reach: patients
//! and findings of their own tenant, and nothing else. Every statement
//! filters on `tenant_id`, and every loaded object is put to the policy
//! gate before it is returned or its access recorded as a success.

use std::sync::Arc;

use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::finding::{FindingStatus, NewFinding, ObservationValue};
use hippo_core::patient::{NewPatient, format_date};
use hippo_core::policy::{AccessGate, Action, ResourceKind, ResourceRef};
use hippo_core::time_util::now_millis;
use hippo_core::{ApiKeyId, DomainError, FindingId, PatientId, Principal, TenantId};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::actor::{Actor, outcome_success};
use crate::audit::AuditLog;
use crate::error::StoreError;
use crate::model::{ApiKeyRecord, FindingDetail, FindingSummary, PatientRecord};
use crate::queries::{self, PDF_BLOB};
use crate::rows::{FINDING_COLUMNS, PATIENT_COLUMNS, finding_summary, parse, patient};
use crate::scoping::Scoping;
use crate::sql::TenantPool;
use crate::vault::{BlobRef, Vault};

#[derive(Clone)]
pub struct StaffScope {
    /// Connections that see this tenant's rows only (PostgreSQL).
    pool: TenantPool,
    vault: Vault,
    tenant: TenantId,
    /// Staff ID or API key ID, recorded as a finding's submitter.
    actor_id: String,
    actor: Actor,
    gate: Arc<dyn AccessGate>,
    scoping: Scoping,
}

pub(crate) fn patient_ref(p: &PatientRecord) -> ResourceRef {
    ResourceRef::Patient {
        tenant: p.tenant_id,
        patient: p.id,
    }
}

pub(crate) fn finding_ref(f: &FindingSummary, kind: ResourceKind) -> ResourceRef {
    if kind == ResourceKind::FindingPdf {
        ResourceRef::FindingPdf {
            tenant: f.tenant_id,
            patient: f.patient_id,
            finding: f.id,
            status: f.status,
        }
    } else {
        ResourceRef::Finding {
            tenant: f.tenant_id,
            patient: f.patient_id,
            finding: f.id,
            status: f.status,
        }
    }
}

impl StaffScope {
    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, StoreError> {
        Ok(self.pool.acquire_for(&self.tenant.to_string()).await?)
    }

    pub(crate) fn new(
        pool: TenantPool,
        vault: Vault,
        audit: AuditLog,
        principal: &Principal,
        origin: RequestOrigin,
        gate: Arc<dyn AccessGate>,
        scoping: Scoping,
    ) -> Option<Self> {
        let tenant = match principal {
            Principal::Staff { tenant_id, .. } | Principal::LabSystem { tenant_id, .. } => {
                *tenant_id
            }
            Principal::Patient { .. } | Principal::Operator { .. } => return None,
        };
        Some(Self {
            pool,
            vault,
            tenant,
            actor_id: principal.actor_id(),
            actor: Actor {
                audit,
                actor: AuditActor::of(principal),
                origin,
            },
            gate,
            scoping,
        })
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// Whether the policy allows `action` on an object already loaded.
    pub fn may(&self, action: Action, resource: &ResourceRef) -> bool {
        self.gate.permits(action, resource)
    }

    /// Refuse a collection action on the own tenant, audited as a denial.
    async fn require_tenant_action(
        &self,
        action: Action,
        kind: ResourceKind,
    ) -> Result<(), StoreError> {
        if self.gate.permits(action, &ResourceRef::Tenant(self.tenant)) {
            return Ok(());
        }
        Err(self.actor.denied(action, kind, self.tenant).await)
    }

    pub async fn list_patients(&self) -> Result<Vec<PatientRecord>, StoreError> {
        let action = Action::PatientList;
        self.require_tenant_action(action, ResourceKind::Patient)
            .await?;
        let patients = sqlx::query(crate::sql::numbered(format!(
            "SELECT {PATIENT_COLUMNS} FROM patients p WHERE {} \
             ORDER BY p.family_name, p.given_name, p.id",
            self.scoping.eq("p.tenant_id")
        )))
        .bind(self.tenant.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?
        .iter()
        .map(patient)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|p| self.gate.permits(Action::PatientRead, &patient_ref(p)))
        .collect::<Vec<_>>();
        self.actor
            .log(
                outcome_success(action, ResourceKind::Patient)
                    .concerning(self.tenant, None)
                    .detail(format!("listed={}", patients.len())),
            )
            .await?;
        Ok(patients)
    }

    pub async fn create_patient(&self, new: &NewPatient) -> Result<PatientRecord, StoreError> {
        self.require_tenant_action(Action::PatientCreate, ResourceKind::Patient)
            .await?;
        let record = PatientRecord {
            id: PatientId::random(),
            tenant_id: self.tenant,
            given_name: new.given_name.clone(),
            family_name: new.family_name.clone(),
            birth_date: new.birth_date,
            created_at: now_millis(),
        };
        let mut tx = self.pool.begin_for(&self.tenant.to_string(), false).await?;
        sqlx::query(
            "INSERT INTO patients (id, tenant_id, given_name, family_name, birth_date, honeytoken, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(record.id.to_string())
        .bind(self.tenant.to_string())
        .bind(&record.given_name)
        .bind(&record.family_name)
        .bind(format_date(record.birth_date))
        .bind(i64::from(new.decoy))
        .bind(record.created_at)
        .execute(&mut *tx)
        .await?;
        self.actor
            .log_in(
                &mut tx,
                outcome_success(Action::PatientCreate, ResourceKind::Patient)
                    .resource(record.id)
                    .concerning(self.tenant, Some(record.id)),
            )
            .await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Load a patient in scope and put it to the gate; both failures look
    /// the same to the caller and are audited.
    async fn gated_patient(
        &self,
        id: PatientId,
        action: Action,
    ) -> Result<PatientRecord, StoreError> {
        let kind = ResourceKind::Patient;
        let record = sqlx::query(crate::sql::numbered(format!(
            "SELECT {PATIENT_COLUMNS} FROM patients p WHERE {} AND p.id = ?",
            self.scoping.eq("p.tenant_id")
        )))
        .bind(self.tenant.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *self.conn().await?)
        .await?
        .as_ref()
        .map(patient)
        .transpose()?;
        self.actor
            .admit(
                record,
                |r| self.gate.permits(action, &patient_ref(r)),
                action,
                kind,
                id,
            )
            .await
    }

    pub async fn patient(&self, id: PatientId) -> Result<PatientRecord, StoreError> {
        let action = Action::PatientRead;
        let record = self.gated_patient(id, action).await?;
        self.actor
            .log(
                outcome_success(action, ResourceKind::Patient)
                    .resource(id)
                    .concerning(record.tenant_id, Some(id)),
            )
            .await?;
        Ok(record)
    }

    pub async fn patient_findings(
        &self,
        id: PatientId,
    ) -> Result<(PatientRecord, Vec<FindingSummary>), StoreError> {
        let action = Action::PatientFindingsList;
        let record = self.gated_patient(id, action).await?;
        let findings = sqlx::query(crate::sql::numbered(format!(
            "SELECT {FINDING_COLUMNS} WHERE {} AND f.patient_id = ? ORDER BY f.created_at DESC, f.id",
            self.scoping.eq("f.tenant_id")
        )))
        .bind(self.tenant.to_string())
        .bind(id.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?
        .iter()
        .map(finding_summary)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|f| {
            self.gate
                .permits(Action::FindingRead, &finding_ref(f, ResourceKind::Finding))
        })
        .collect::<Vec<_>>();
        self.actor
            .log(
                outcome_success(action, ResourceKind::Patient)
                    .resource(id)
                    .concerning(record.tenant_id, Some(id))
                    .detail(format!("listed={}", findings.len())),
            )
            .await?;
        Ok((record, findings))
    }

    /// Store a new draft finding with its observations and PDF, all in one
    /// transaction with its audit record.
    pub async fn upload_finding(
        &self,
        patient: PatientId,
        new: &NewFinding,
        pdf: &[u8],
    ) -> Result<FindingSummary, StoreError> {
        let action = Action::FindingUpload;
        let record = self.gated_patient(patient, action).await?;
        let id = FindingId::random();
        // The sealed PDF is stored first; if the transaction below fails,
        // it is removed again (a crash in between leaves an orphan that
        // the sweeper reports, never a finding without its PDF).
        let blob = self
            .vault
            .seal_and_put(record.tenant_id, PDF_BLOB, &id.to_string(), pdf.to_vec())
            .await?;
        match self.insert_finding(id, &record, new, pdf, &blob).await {
            Ok(()) => {}
            Err(e) => {
                self.vault.discard(&blob).await;
                return Err(e);
            }
        }
        self.load_finding(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("finding vanished after insert".into()))
    }

    async fn insert_finding(
        &self,
        id: FindingId,
        record: &PatientRecord,
        new: &NewFinding,
        pdf: &[u8],
        blob: &BlobRef,
    ) -> Result<(), StoreError> {
        let patient = record.id;
        let now = now_millis();
        let mut tx = self.pool.begin_for(&self.tenant.to_string(), false).await?;
        sqlx::query(
            "INSERT INTO findings (id, tenant_id, patient_id, title, status, created_by, created_at, \
             pdf_size, pdf_sha256) VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(record.tenant_id.to_string())
        .bind(patient.to_string())
        .bind(&new.title)
        .bind(&self.actor_id)
        .bind(now)
        .bind(pdf.len() as i64)
        .bind(hex::encode(Sha256::digest(pdf)))
        .execute(&mut *tx)
        .await?;
        insert_observations(&mut tx, record.tenant_id, id, new).await?;
        Vault::record(&mut tx, blob, record.tenant_id, PDF_BLOB, &id.to_string()).await?;
        self.actor
            .log_in(
                &mut tx,
                outcome_success(Action::FindingUpload, ResourceKind::Finding)
                    .resource(id)
                    .concerning(record.tenant_id, Some(patient)),
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn load_finding(&self, id: FindingId) -> Result<Option<FindingSummary>, StoreError> {
        sqlx::query(crate::sql::numbered(format!(
            "SELECT {FINDING_COLUMNS} WHERE {} AND f.id = ?",
            self.scoping.eq("f.tenant_id")
        )))
        .bind(self.tenant.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *self.conn().await?)
        .await?
        .as_ref()
        .map(finding_summary)
        .transpose()
    }

    /// Load a finding in scope and put it to the gate.
    async fn scoped_finding(
        &self,
        id: FindingId,
        action: Action,
        kind: ResourceKind,
    ) -> Result<FindingSummary, StoreError> {
        let loaded = self.load_finding(id).await?;
        self.actor
            .admit(
                loaded,
                |f| self.gate.permits(action, &finding_ref(f, kind)),
                action,
                kind,
                id,
            )
            .await
    }

    pub async fn finding(&self, id: FindingId) -> Result<FindingDetail, StoreError> {
        let summary = self
            .scoped_finding(id, Action::FindingRead, ResourceKind::Finding)
            .await?;
        queries::audited_detail(self.conn().await?, &self.actor, summary).await
    }

    pub async fn finding_pdf(
        &self,
        id: FindingId,
    ) -> Result<(FindingSummary, Vec<u8>), StoreError> {
        let summary = self
            .scoped_finding(id, Action::FindingPdfDownload, ResourceKind::FindingPdf)
            .await?;
        queries::audited_pdf(&self.vault, &self.actor, summary).await
    }

    pub async fn release(&self, id: FindingId) -> Result<FindingSummary, StoreError> {
        self.transition(id, Action::FindingRelease, FindingStatus::release)
            .await
    }

    pub async fn retract(&self, id: FindingId) -> Result<FindingSummary, StoreError> {
        self.transition(id, Action::FindingRetract, FindingStatus::retract)
            .await
    }

    /// Check scope and policy, apply the domain rule, write, audit; the
    /// write and its record are one transaction.
    async fn transition(
        &self,
        id: FindingId,
        action: Action,
        rule: fn(FindingStatus) -> Result<FindingStatus, DomainError>,
    ) -> Result<FindingSummary, StoreError> {
        let kind = ResourceKind::Finding;
        let current = self.scoped_finding(id, action, kind).await?;
        let event = AuditEvent::new(action, kind, Outcome::Success)
            .resource(id)
            .concerning(current.tenant_id, Some(current.patient_id));
        let mut tx = self.pool.begin_for(&self.tenant.to_string(), true).await?;
        // Re-read the status under the write lock: a concurrent release or
        // retract must not be overwritten.
        let status: String =
            sqlx::query("SELECT status FROM findings WHERE tenant_id = $1 AND id = $2")
                .bind(current.tenant_id.to_string())
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .await?
                .try_get("status")?;
        let status = FindingStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt("finding status".into()))?;
        let next = match rule(status) {
            Ok(next) => next,
            Err(e) => {
                drop(tx);
                let mut refused = event;
                refused.outcome = Outcome::Rejected;
                return Err(self.actor.rejected(refused, e.into()).await);
            }
        };
        let column = match next {
            FindingStatus::Released => "released_at",
            FindingStatus::Retracted => "retracted_at",
            FindingStatus::Draft => "created_at",
        };
        sqlx::query(crate::sql::numbered(format!(
            "UPDATE findings SET status = ?, {column} = ? WHERE tenant_id = ? AND id = ?"
        )))
        .bind(next.as_str())
        .bind(now_millis())
        .bind(current.tenant_id.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        self.actor
            .log_in(
                &mut tx,
                event.detail(format!("{}->{}", status.as_str(), next.as_str())),
            )
            .await?;
        tx.commit().await?;
        self.load_finding(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("finding vanished after update".into()))
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let action = Action::ApiKeyList;
        self.require_tenant_action(action, ResourceKind::ApiKey)
            .await?;
        let keys = sqlx::query(crate::sql::numbered(format!(
            "SELECT id, tenant_id, name, created_at, revoked_at FROM api_keys WHERE {} \
             ORDER BY created_at DESC, id",
            self.scoping.eq("tenant_id")
        )))
        .bind(self.tenant.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?
        .iter()
        .map(api_key)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|k| {
            self.gate.permits(
                Action::ApiKeyRevoke,
                &ResourceRef::ApiKey {
                    tenant: k.tenant_id,
                    key: k.id,
                },
            )
        })
        .collect::<Vec<_>>();
        self.actor
            .log(
                outcome_success(action, ResourceKind::ApiKey)
                    .concerning(self.tenant, None)
                    .detail(format!("listed={}", keys.len())),
            )
            .await?;
        Ok(keys)
    }

    /// Register a key for this tenant. The caller generated the secret and
    /// passes only its hash; the secret is shown once and never stored.
    pub async fn create_api_key(
        &self,
        name: &str,
        key_hash: &str,
    ) -> Result<ApiKeyRecord, StoreError> {
        let action = Action::ApiKeyCreate;
        self.require_tenant_action(action, ResourceKind::ApiKey)
            .await?;
        let record = ApiKeyRecord {
            id: ApiKeyId::random(),
            tenant_id: self.tenant,
            name: name.to_owned(),
            created_at: now_millis(),
            revoked_at: None,
        };
        let mut tx = self.pool.begin_for(&self.tenant.to_string(), false).await?;
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, name, key_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(record.id.to_string())
        .bind(self.tenant.to_string())
        .bind(name)
        .bind(key_hash)
        .bind(&self.actor_id)
        .bind(record.created_at)
        .execute(&mut *tx)
        .await?;
        self.actor
            .log_in(
                &mut tx,
                outcome_success(action, ResourceKind::ApiKey)
                    .resource(record.id)
                    .concerning(self.tenant, None),
            )
            .await?;
        tx.commit().await?;
        Ok(record)
    }

    pub async fn revoke_api_key(&self, id: ApiKeyId) -> Result<ApiKeyRecord, StoreError> {
        let action = Action::ApiKeyRevoke;
        let kind = ResourceKind::ApiKey;
        let row = sqlx::query(crate::sql::numbered(format!(
            "SELECT id, tenant_id, name, created_at, revoked_at FROM api_keys WHERE {} AND id = ?",
            self.scoping.eq("tenant_id")
        )))
        .bind(self.tenant.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        let loaded = row.as_ref().map(api_key).transpose()?;
        let permitted = |k: &ApiKeyRecord| {
            let resource = ResourceRef::ApiKey {
                tenant: k.tenant_id,
                key: k.id,
            };
            self.gate.permits(action, &resource)
        };
        let key = self
            .actor
            .admit(loaded, permitted, action, kind, id)
            .await?;
        let now = now_millis();
        let mut tx = self.pool.begin_for(&self.tenant.to_string(), false).await?;
        sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE tenant_id = $2 AND id = $3")
            .bind(now)
            .bind(key.tenant_id.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        self.actor
            .log_in(
                &mut tx,
                outcome_success(action, kind)
                    .resource(id)
                    .concerning(key.tenant_id, None),
            )
            .await?;
        tx.commit().await?;
        Ok(ApiKeyRecord {
            revoked_at: Some(key.revoked_at.unwrap_or(now)),
            ..key
        })
    }
}

fn api_key(row: &sqlx::any::AnyRow) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        id: parse(row, "id")?,
        tenant_id: parse(row, "tenant_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

async fn insert_observations(
    conn: &mut AnyConnection,
    tenant: TenantId,
    finding: FindingId,
    new: &NewFinding,
) -> Result<(), StoreError> {
    for (position, o) in new.observations.iter().enumerate() {
        let (numeric, text) = match &o.value {
            ObservationValue::Numeric(v) => (Some(*v), None),
            ObservationValue::Text(t) => (None, Some(t.as_str())),
        };
        sqlx::query(
            "INSERT INTO observations (finding_id, position, tenant_id, code, display, value_numeric, \
             value_text, unit, reference_low, reference_high, flag) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        // Not prepared once for all: sqlx 0.9's Any driver declares a
        // NULL float as float4 and a present one as float8, so a statement
        // prepared with a NULL reference range refuses a later value on
        // PostgreSQL ("incorrect binary data format").
        .persistent(false)
        .bind(finding.to_string())
        .bind(position as i64)
        .bind(tenant.to_string())
        .bind(&o.code)
        .bind(&o.display)
        .bind(numeric)
        .bind(text)
        .bind(&o.unit)
        .bind(o.reference_low)
        .bind(o.reference_high)
        .bind(o.flag.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
