//! Staff: the patients of the own tenant.

use hippo_core::PatientId;
use hippo_core::patient::{NewPatient, format_date};
use hippo_core::policy::{Action, ResourceKind, ResourceRef};
use hippo_core::time_util::now_millis;
use sqlx::AnyConnection;

use super::StaffScope;
use crate::admission::{Access, Admitted, Gated, Statement};
use crate::error::StoreError;
use crate::model::{FindingSummary, PatientRecord};
use crate::rows;

fn patient_ref(p: &PatientRecord) -> ResourceRef {
    ResourceRef::Patient {
        tenant: p.tenant_id,
        patient: p.id,
    }
}

/// `GET /api/v1/patients`, policy rule "staff read their tenant's patients".
const PATIENTS_OF_TENANT: Statement<PatientRecord> = Statement {
    sql: "SELECT p.id, p.tenant_id, p.given_name, p.family_name, p.birth_date, p.created_at \
          FROM patients p \
          WHERE (p.tenant_id = $1) /* fence */ \
          ORDER BY p.family_name, p.given_name, p.id",
    map: rows::patient,
    resource: patient_ref,
    kind: ResourceKind::Patient,
};

/// The patient list's search: a name part (given, family or both, any
/// case), a date of birth, or the patient number (the record's ID); one
/// page, one row more than asked so the caller knows whether a next page
/// exists. Empty criteria match everything.
const PATIENTS_OF_TENANT_MATCHING: Statement<PatientRecord> = Statement {
    sql: "SELECT p.id, p.tenant_id, p.given_name, p.family_name, p.birth_date, p.created_at \
          FROM patients p \
          WHERE (p.tenant_id = $1) /* fence */ \
          AND ($2 = '' \
               OR LOWER(p.family_name) LIKE $2 ESCAPE '\\' \
               OR LOWER(p.given_name) LIKE $2 ESCAPE '\\' \
               OR LOWER(p.given_name || ' ' || p.family_name) LIKE $2 ESCAPE '\\' \
               OR LOWER(p.family_name || ', ' || p.given_name) LIKE $2 ESCAPE '\\' \
               OR p.id = $3) \
          AND ($4 = '' OR p.birth_date = $4) \
          ORDER BY p.family_name, p.given_name, p.id \
          LIMIT $5 OFFSET $6",
    map: rows::patient,
    resource: patient_ref,
    kind: ResourceKind::Patient,
};

/// What the staff's patient search asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientSearch {
    /// A part of the name, or a patient number; trimmed, may be empty.
    pub text: String,
    /// `YYYY-MM-DD`, or empty.
    pub birth_date: String,
    /// Zero-based page number.
    pub page: u32,
}

impl PatientSearch {
    pub const PAGE_SIZE: u32 = 50;
}

/// One page of matches, and whether another follows.
#[derive(Debug, Clone)]
pub struct PatientMatches {
    pub patients: Vec<PatientRecord>,
    pub has_more: bool,
}

/// `LIKE` pattern for a substring, the wildcards in the typed text escaped.
fn contains_pattern(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

const PATIENT_BY_ID: Statement<PatientRecord> = Statement {
    sql: "SELECT p.id, p.tenant_id, p.given_name, p.family_name, p.birth_date, p.created_at \
          FROM patients p \
          WHERE (p.tenant_id = $1) /* fence */ AND p.id = $2",
    map: rows::patient,
    resource: patient_ref,
    kind: ResourceKind::Patient,
};

/// FHIR `Patient?` for staff: the tenant's patients, filtered.
const FHIR_PATIENTS_OF_TENANT: Statement<PatientRecord> = Statement {
    sql: concat!(
        "SELECT p.id, p.tenant_id, p.given_name, p.family_name, p.birth_date, p.created_at \
         FROM patients p WHERE (p.tenant_id = $1) /* fence */",
        crate::search::patient_filters!()
    ),
    map: rows::patient,
    resource: patient_ref,
    kind: ResourceKind::Patient,
};

impl StaffScope {
    /// FHIR `Patient?`: a page of the tenant's patients. One record for
    /// the list, like the JSON API's.
    pub async fn fhir_search_patients(
        &self,
        query: &crate::search::PatientQuery,
    ) -> Result<Admitted<crate::search::PatientPage>, StoreError> {
        let action = self.gk.serving(&[Action::FhirPatientSearch])?;
        let tenant = ResourceRef::Tenant(self.tenant);
        self.gk
            .require(action, &tenant, ResourceKind::Patient, self.tenant)
            .await?;
        let found = self
            .gk
            .fetch_all(
                &FHIR_PATIENTS_OF_TENANT,
                query.bind(self.tenant.to_string()),
                Action::FhirPatientRead,
            )
            .await?
            .with(|rows| query.page(rows));
        let access = Access::default()
            .concerning(self.tenant, None)
            .detail(format!("searched; listed={}", found.get().patients.len()));
        self.gk
            .admit(found, ResourceKind::Patient, vec![access])
            .await
    }

    pub async fn list_patients(&self) -> Result<Admitted<Vec<PatientRecord>>, StoreError> {
        let action = self.gk.serving(&[Action::PatientList])?;
        let tenant = ResourceRef::Tenant(self.tenant);
        self.gk
            .require(action, &tenant, ResourceKind::Patient, self.tenant)
            .await?;
        let patients = self
            .gk
            .fetch_all(
                &PATIENTS_OF_TENANT,
                |q| q.bind(self.tenant.to_string()),
                Action::PatientRead,
            )
            .await?;
        let access = Access::default()
            .concerning(self.tenant, None)
            .detail(format!("listed={}", patients.get().len()));
        self.gk
            .admit(patients, ResourceKind::Patient, vec![access])
            .await
    }

    /// The patient list's search, within the own tenant only (the fence).
    pub async fn search_patients(
        &self,
        search: &PatientSearch,
    ) -> Result<Admitted<PatientMatches>, StoreError> {
        let action = self.gk.serving(&[Action::PatientList])?;
        let tenant = ResourceRef::Tenant(self.tenant);
        self.gk
            .require(action, &tenant, ResourceKind::Patient, self.tenant)
            .await?;
        let text = search.text.trim().to_owned();
        let size = i64::from(PatientSearch::PAGE_SIZE);
        let offset = i64::from(search.page) * size;
        let found = self
            .gk
            .fetch_all(
                &PATIENTS_OF_TENANT_MATCHING,
                |q| {
                    q.bind(self.tenant.to_string())
                        .bind(contains_pattern(&text))
                        .bind(text.to_lowercase())
                        .bind(search.birth_date.clone())
                        .bind(size + 1)
                        .bind(offset)
                },
                Action::PatientRead,
            )
            .await?;
        let page = found.with(|mut patients| {
            let has_more = patients.len() > PatientSearch::PAGE_SIZE as usize;
            patients.truncate(PatientSearch::PAGE_SIZE as usize);
            PatientMatches { patients, has_more }
        });
        let access = Access::default()
            .concerning(self.tenant, None)
            .detail(format!("searched; listed={}", page.get().patients.len()));
        self.gk
            .admit(page, ResourceKind::Patient, vec![access])
            .await
    }

    pub async fn create_patient(
        &self,
        new: &NewPatient,
    ) -> Result<Admitted<PatientRecord>, StoreError> {
        let action = self.gk.serving(&[Action::PatientCreate])?;
        let tenant = ResourceRef::Tenant(self.tenant);
        self.gk
            .require(action, &tenant, ResourceKind::Patient, self.tenant)
            .await?;
        let mut tx = self.gk.connections.begin(false).await?;
        let record = self.insert_patient(&mut tx, new).await?;
        let access = Access::of(record.id).concerning(self.tenant, Some(record.id));
        let created = self.gk.checked(record);
        self.gk
            .commit(tx, created, ResourceKind::Patient, access)
            .await
    }

    /// A new patient record of this facility, inserted on `conn` (the
    /// caller's transaction, which records the access).
    pub(super) async fn insert_patient(
        &self,
        conn: &mut AnyConnection,
        new: &NewPatient,
    ) -> Result<PatientRecord, StoreError> {
        let record = self.new_patient_record(new);
        insert_patients(conn, &[(&record, new.decoy)]).await?;
        Ok(record)
    }

    /// The record a new patient of the own tenant gets (not yet stored).
    pub(super) fn new_patient_record(&self, new: &NewPatient) -> PatientRecord {
        PatientRecord {
            id: PatientId::random(),
            tenant_id: self.tenant,
            given_name: new.given_name.clone(),
            family_name: new.family_name.clone(),
            birth_date: new.birth_date,
            created_at: now_millis(),
        }
    }

    /// A patient of the own tenant that the policy lets `action` touch;
    /// absent, foreign and refused look the same and are recorded.
    pub(super) async fn gated_patient(
        &self,
        id: PatientId,
        action: Action,
    ) -> Result<Gated<PatientRecord>, StoreError> {
        self.gk
            .fetch_one(
                &PATIENT_BY_ID,
                |q| q.bind(self.tenant.to_string()).bind(id.to_string()),
                action,
                id,
            )
            .await
    }

    pub async fn patient(&self, id: PatientId) -> Result<Admitted<PatientRecord>, StoreError> {
        let action = self
            .gk
            .serving(&[Action::PatientRead, Action::FhirPatientRead])?;
        let record = self.gated_patient(id, action).await?;
        let access = Access::of(id).concerning(self.tenant, Some(id));
        self.gk
            .admit(record, ResourceKind::Patient, vec![access])
            .await
    }

    /// A patient with every finding of theirs at this facility.
    pub async fn patient_findings(
        &self,
        id: PatientId,
    ) -> Result<Admitted<(PatientRecord, Vec<FindingSummary>)>, StoreError> {
        let action = self.gk.serving(&[Action::PatientFindingsList])?;
        let record = self.gated_patient(id, action).await?;
        let findings = self.findings_of(id).await?;
        let access = Access::of(id)
            .concerning(self.tenant, Some(id))
            .detail(format!("listed={}", findings.get().len()));
        self.gk
            .admit(record.zip(findings), ResourceKind::Patient, vec![access])
            .await
    }
}

/// New patients (record, decoy) in one statement per chunk.
pub(super) async fn insert_patients(
    conn: &mut AnyConnection,
    patients: &[(&PatientRecord, bool)],
) -> Result<(), StoreError> {
    for chunk in patients.chunks(PATIENTS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO patients (id, tenant_id, given_name, family_name, birth_date, honeytoken, \
             created_at) VALUES {}",
            crate::sql::placeholders("(?, ?, ?, ?, ?, ?, ?)", chunk.len())
        );
        let mut query = sqlx::query(crate::sql::for_connection(conn, sql));
        for (record, decoy) in chunk {
            query = query
                .bind(record.id.to_string())
                .bind(record.tenant_id.to_string())
                .bind(&record.given_name)
                .bind(&record.family_name)
                .bind(format_date(record.birth_date))
                .bind(i64::from(*decoy))
                .bind(record.created_at);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Patient rows per insert (7 bound values each).
const PATIENTS_PER_STATEMENT: usize = 500;

#[cfg(test)]
mod tests {
    #[test]
    fn every_statement_is_fenced_by_tenant() {
        for sql in [
            super::PATIENTS_OF_TENANT.sql,
            super::PATIENT_BY_ID.sql,
            super::FHIR_PATIENTS_OF_TENANT.sql,
        ] {
            assert!(sql.contains("(p.tenant_id = $1) /* fence */"), "{sql}");
        }
    }
}
