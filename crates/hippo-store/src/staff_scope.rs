//! What a staff member can reach: patients and findings of their own tenant,
//! and nothing else. Every statement filters on `tenant_id`.

use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::finding::{FindingStatus, NewFinding, ObservationValue};
use hippo_core::patient::{NewPatient, format_date};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::time_util::now_millis;
use hippo_core::{DomainError, FindingId, PatientId, Principal, StaffId, TenantId};
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, Row, SqliteConnection, SqlitePool};

use crate::actor::{Actor, outcome_success};
use crate::audit::AuditLog;
use crate::error::StoreError;
use crate::model::{FindingDetail, FindingSummary, PatientRecord};
use crate::queries;
use crate::rows::{FINDING_COLUMNS, PATIENT_COLUMNS, finding_summary, patient};

#[derive(Clone)]
pub struct StaffScope {
    pool: SqlitePool,
    tenant: TenantId,
    staff: StaffId,
    actor: Actor,
}

impl StaffScope {
    pub(crate) fn new(
        pool: SqlitePool,
        audit: AuditLog,
        principal: &Principal,
        origin: RequestOrigin,
    ) -> Option<Self> {
        let Principal::Staff {
            staff_id,
            tenant_id,
            ..
        } = principal
        else {
            return None;
        };
        Some(Self {
            pool,
            tenant: *tenant_id,
            staff: *staff_id,
            actor: Actor {
                audit,
                actor: AuditActor::of(principal),
                origin,
            },
        })
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    pub async fn list_patients(&self) -> Result<Vec<PatientRecord>, StoreError> {
        let patients = sqlx::query(AssertSqlSafe(format!(
            "SELECT {PATIENT_COLUMNS} FROM patients p WHERE p.tenant_id = ? \
             ORDER BY p.family_name, p.given_name, p.id"
        )))
        .bind(self.tenant.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(patient)
        .collect::<Result<Vec<_>, _>>()?;
        self.actor
            .log(
                outcome_success(Action::PatientList, ResourceKind::Patient)
                    .concerning(self.tenant, None)
                    .detail(format!("listed={}", patients.len())),
            )
            .await?;
        Ok(patients)
    }

    pub async fn create_patient(&self, new: &NewPatient) -> Result<PatientRecord, StoreError> {
        let record = PatientRecord {
            id: PatientId::random(),
            tenant_id: self.tenant,
            given_name: new.given_name.clone(),
            family_name: new.family_name.clone(),
            birth_date: new.birth_date,
            created_at: now_millis(),
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO patients (id, tenant_id, given_name, family_name, birth_date, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(record.id.to_string())
        .bind(self.tenant.to_string())
        .bind(&record.given_name)
        .bind(&record.family_name)
        .bind(format_date(record.birth_date))
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

    async fn load_patient(&self, id: PatientId) -> Result<Option<PatientRecord>, StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {PATIENT_COLUMNS} FROM patients p WHERE p.tenant_id = ? AND p.id = ?"
        )))
        .bind(self.tenant.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(patient)
        .transpose()
    }

    pub async fn patient(&self, id: PatientId) -> Result<PatientRecord, StoreError> {
        let action = Action::PatientRead;
        let Some(record) = self.load_patient(id).await? else {
            return Err(self
                .actor
                .not_found(action, ResourceKind::Patient, id)
                .await);
        };
        self.actor
            .log(
                outcome_success(action, ResourceKind::Patient)
                    .resource(id)
                    .concerning(self.tenant, Some(id)),
            )
            .await?;
        Ok(record)
    }

    pub async fn patient_findings(
        &self,
        id: PatientId,
    ) -> Result<(PatientRecord, Vec<FindingSummary>), StoreError> {
        let action = Action::PatientFindingsList;
        let Some(record) = self.load_patient(id).await? else {
            return Err(self
                .actor
                .not_found(action, ResourceKind::Patient, id)
                .await);
        };
        let findings = sqlx::query(AssertSqlSafe(format!(
            "SELECT {FINDING_COLUMNS} WHERE f.tenant_id = ? AND f.patient_id = ? \
             ORDER BY f.created_at DESC, f.id"
        )))
        .bind(self.tenant.to_string())
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(finding_summary)
        .collect::<Result<Vec<_>, _>>()?;
        self.actor
            .log(
                outcome_success(action, ResourceKind::Patient)
                    .resource(id)
                    .concerning(self.tenant, Some(id))
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
        if self.load_patient(patient).await?.is_none() {
            return Err(self
                .actor
                .not_found(action, ResourceKind::Patient, patient)
                .await);
        }
        let id = FindingId::random();
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO findings (id, tenant_id, patient_id, title, status, created_by, created_at, \
             pdf_size, pdf_sha256) VALUES (?, ?, ?, ?, 'draft', ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(self.tenant.to_string())
        .bind(patient.to_string())
        .bind(&new.title)
        .bind(self.staff.to_string())
        .bind(now)
        .bind(pdf.len() as i64)
        .bind(hex::encode(Sha256::digest(pdf)))
        .execute(&mut *tx)
        .await?;
        insert_observations(&mut tx, self.tenant, id, new).await?;
        sqlx::query("INSERT INTO finding_pdfs (finding_id, tenant_id, bytes) VALUES (?, ?, ?)")
            .bind(id.to_string())
            .bind(self.tenant.to_string())
            .bind(pdf)
            .execute(&mut *tx)
            .await?;
        self.actor
            .log_in(
                &mut tx,
                outcome_success(action, ResourceKind::Finding)
                    .resource(id)
                    .concerning(self.tenant, Some(patient)),
            )
            .await?;
        tx.commit().await?;
        self.load_finding(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("finding vanished after insert".into()))
    }

    async fn load_finding(&self, id: FindingId) -> Result<Option<FindingSummary>, StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {FINDING_COLUMNS} WHERE f.tenant_id = ? AND f.id = ?"
        )))
        .bind(self.tenant.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(finding_summary)
        .transpose()
    }

    async fn scoped_finding(
        &self,
        id: FindingId,
        action: Action,
        kind: ResourceKind,
    ) -> Result<FindingSummary, StoreError> {
        match self.load_finding(id).await? {
            Some(f) => Ok(f),
            None => Err(self.actor.not_found(action, kind, id).await),
        }
    }

    pub async fn finding(&self, id: FindingId) -> Result<FindingDetail, StoreError> {
        let summary = self
            .scoped_finding(id, Action::FindingRead, ResourceKind::Finding)
            .await?;
        queries::audited_detail(&self.pool, &self.actor, summary).await
    }

    pub async fn finding_pdf(
        &self,
        id: FindingId,
    ) -> Result<(FindingSummary, Vec<u8>), StoreError> {
        let summary = self
            .scoped_finding(id, Action::FindingPdfDownload, ResourceKind::FindingPdf)
            .await?;
        queries::audited_pdf(&self.pool, &self.actor, summary).await
    }

    pub async fn release(&self, id: FindingId) -> Result<FindingSummary, StoreError> {
        self.transition(id, Action::FindingRelease, FindingStatus::release)
            .await
    }

    pub async fn retract(&self, id: FindingId) -> Result<FindingSummary, StoreError> {
        self.transition(id, Action::FindingRetract, FindingStatus::retract)
            .await
    }

    /// Read status, apply the domain rule, write, audit: one transaction.
    async fn transition(
        &self,
        id: FindingId,
        action: Action,
        rule: fn(FindingStatus) -> Result<FindingStatus, DomainError>,
    ) -> Result<FindingSummary, StoreError> {
        let kind = ResourceKind::Finding;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row =
            sqlx::query("SELECT status, patient_id FROM findings WHERE tenant_id = ? AND id = ?")
                .bind(self.tenant.to_string())
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(row) = row else {
            drop(tx);
            return Err(self.actor.not_found(action, kind, id).await);
        };
        let status: String = row.try_get("status")?;
        let patient: PatientId = crate::rows::parse(&row, "patient_id")?;
        let event = AuditEvent::new(action, kind, Outcome::Success)
            .resource(id)
            .concerning(self.tenant, Some(patient));
        let current = FindingStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt("finding status".into()))?;
        let next = match rule(current) {
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
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE findings SET status = ?, {column} = ? WHERE tenant_id = ? AND id = ?"
        )))
        .bind(next.as_str())
        .bind(now_millis())
        .bind(self.tenant.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        self.actor
            .log_in(
                &mut tx,
                event.detail(format!("{status}->{}", next.as_str())),
            )
            .await?;
        tx.commit().await?;
        self.load_finding(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("finding vanished after update".into()))
    }
}

async fn insert_observations(
    conn: &mut SqliteConnection,
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
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
