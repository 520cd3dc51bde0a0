//! Staff: findings of the own tenant's patients — list, read, PDF, upload,
//! release and retract.

use hippo_core::audit::{AuditEvent, Outcome};
use hippo_core::finding::{FindingStatus, NewFinding, Observation, ObservationValue};
use hippo_core::policy::{Action, ResourceKind, ResourceRef};
use hippo_core::time_util::now_millis;
use hippo_core::{DomainError, FindingId, PatientId, TenantId};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use super::StaffScope;
use crate::admission::{Admitted, Gated, Statement};
use crate::error::StoreError;
use crate::model::{FindingDetail, FindingPdf, FindingSummary, PatientRecord};
use crate::outbox::{self, Notice, NoticeKind};
use crate::patient_scope::per_patient_accesses;
use crate::queries::{self, PDF_BLOB};
use crate::rows::{self, finding_pdf_ref, finding_ref};
use crate::search::{self, FindingPage, FindingQuery, ObservationPage, ObservationRecord};
use crate::vault::{BlobRef, Vault};

/// `GET /api/v1/findings/{id}` for staff; the read-back of uploads and
/// status changes.
const FINDING_BY_ID_SQL: &str = "SELECT f.id, f.tenant_id, t.name AS tenant_name, f.patient_id, \
     f.title, f.status, f.created_at, f.released_at, f.retracted_at, f.pdf_size, \
     (SELECT COUNT(*) FROM observations o WHERE o.finding_id = f.id AND o.flag <> 'N') AS abnormal_count \
     FROM findings f JOIN tenants t ON t.id = f.tenant_id \
     WHERE (f.tenant_id = $1) /* fence */ AND f.id = $2";

pub(super) const FINDING_BY_ID: Statement<FindingSummary> = Statement {
    sql: FINDING_BY_ID_SQL,
    map: rows::finding_summary,
    resource: finding_ref,
    kind: ResourceKind::Finding,
};

/// `GET /api/v1/findings/{id}/pdf`: the same row, judged as a PDF.
const FINDING_PDF_BY_ID: Statement<FindingSummary> = Statement {
    sql: FINDING_BY_ID_SQL,
    map: rows::finding_summary,
    resource: finding_pdf_ref,
    kind: ResourceKind::FindingPdf,
};

/// `GET /api/v1/patients/{id}/findings`: every status, newest first.
const FINDINGS_OF_PATIENT: Statement<FindingSummary> = Statement {
    sql: "SELECT f.id, f.tenant_id, t.name AS tenant_name, f.patient_id, \
          f.title, f.status, f.created_at, f.released_at, f.retracted_at, f.pdf_size, \
          (SELECT COUNT(*) FROM observations o WHERE o.finding_id = f.id AND o.flag <> 'N') AS abnormal_count \
          FROM findings f JOIN tenants t ON t.id = f.tenant_id \
          WHERE (f.tenant_id = $1) /* fence */ AND f.patient_id = $2 \
          ORDER BY f.created_at DESC, f.id",
    map: rows::finding_summary,
    resource: finding_ref,
    kind: ResourceKind::Finding,
};

/// The tenant's fence on findings.
macro_rules! tenant_findings_fence {
    () => {
        "(f.tenant_id = $1) /* fence */"
    };
}

/// FHIR `DiagnosticReport?` for staff: the tenant's findings, filtered.
const TENANT_FINDINGS_NEWEST: &str = concat!(
    search::finding_columns!(),
    tenant_findings_fence!(),
    search::finding_filters!(),
    search::newest_first!()
);
const TENANT_FINDINGS_OLDEST: &str = concat!(
    search::finding_columns!(),
    tenant_findings_fence!(),
    search::finding_filters!(),
    search::oldest_first!()
);
/// FHIR `Observation?` for staff: the values of the tenant's findings.
const TENANT_VALUES_NEWEST: &str = concat!(
    search::observation_columns!(),
    tenant_findings_fence!(),
    search::observation_filters!(),
    search::newest_first!(values)
);
const TENANT_VALUES_OLDEST: &str = concat!(
    search::observation_columns!(),
    tenant_findings_fence!(),
    search::observation_filters!(),
    search::oldest_first!(values)
);

fn tenant_finding_search(sql: &'static str) -> Statement<FindingSummary> {
    Statement {
        sql,
        map: rows::finding_summary,
        resource: finding_ref,
        kind: ResourceKind::Finding,
    }
}

fn tenant_value_search(sql: &'static str) -> Statement<ObservationRecord> {
    Statement {
        sql,
        map: search::observation_record,
        resource: search::observation_ref,
        kind: ResourceKind::Finding,
    }
}

impl StaffScope {
    /// FHIR `DiagnosticReport?`: a page of the tenant's findings (every
    /// status the query names) with their values. One audit record per
    /// patient record whose data was shown.
    pub async fn search_findings(
        &self,
        query: &FindingQuery,
    ) -> Result<Admitted<FindingPage>, StoreError> {
        let action = self.gk.serving(&[Action::FhirFindingSearch])?;
        let tenant = ResourceRef::Tenant(self.tenant);
        self.gk
            .require(action, &tenant, ResourceKind::Finding, self.tenant)
            .await?;
        let sql = if query.newest_first {
            TENANT_FINDINGS_NEWEST
        } else {
            TENANT_FINDINGS_OLDEST
        };
        let found = self
            .gk
            .fetch_all(
                &tenant_finding_search(sql),
                query.bind(self.tenant.to_string()),
                Action::FindingRead,
            )
            .await?;
        let (rows, has_more) = query.page(found.get().clone());
        let findings = {
            let mut conn = self.gk.connections.acquire().await?;
            search::with_values(&mut conn, rows).await?
        };
        let accesses = per_patient_accesses(
            findings
                .iter()
                .map(|f| (f.summary.tenant_id, f.summary.patient_id)),
        );
        let page = found.with(|_| FindingPage { findings, has_more });
        self.gk.admit(page, ResourceKind::Finding, accesses).await
    }

    /// FHIR `Observation?`: a page of the values of the tenant's findings.
    pub async fn search_observations(
        &self,
        query: &FindingQuery,
    ) -> Result<Admitted<ObservationPage>, StoreError> {
        let action = self.gk.serving(&[Action::FhirFindingSearch])?;
        let tenant = ResourceRef::Tenant(self.tenant);
        self.gk
            .require(action, &tenant, ResourceKind::Finding, self.tenant)
            .await?;
        let sql = if query.newest_first {
            TENANT_VALUES_NEWEST
        } else {
            TENANT_VALUES_OLDEST
        };
        let found = self
            .gk
            .fetch_all(
                &tenant_value_search(sql),
                query.bind(self.tenant.to_string()),
                Action::FindingRead,
            )
            .await?
            .with(|rows| {
                let (observations, has_more) = query.page(rows);
                ObservationPage {
                    observations,
                    has_more,
                }
            });
        let accesses = per_patient_accesses(
            found
                .get()
                .observations
                .iter()
                .map(|o| (o.tenant_id, o.patient_id)),
        );
        self.gk.admit(found, ResourceKind::Finding, accesses).await
    }

    fn bind_finding(
        &self,
        id: FindingId,
    ) -> impl FnOnce(crate::admission::Bound<'static>) -> crate::admission::Bound<'static> {
        let tenant = self.tenant.to_string();
        move |q| q.bind(tenant).bind(id.to_string())
    }

    /// The findings of a patient already admitted, each put to the gate.
    pub(super) async fn findings_of(
        &self,
        patient: PatientId,
    ) -> Result<Gated<Vec<FindingSummary>>, StoreError> {
        self.gk
            .fetch_all(
                &FINDINGS_OF_PATIENT,
                |q| q.bind(self.tenant.to_string()).bind(patient.to_string()),
                Action::FindingRead,
            )
            .await
    }

    pub async fn finding(&self, id: FindingId) -> Result<Admitted<FindingDetail>, StoreError> {
        let action = self.gk.serving(&[Action::FindingRead])?;
        let summary = self
            .gk
            .fetch_one(&FINDING_BY_ID, self.bind_finding(id), action, id)
            .await?;
        queries::admit_detail(&self.gk, summary).await
    }

    pub async fn finding_pdf(&self, id: FindingId) -> Result<Admitted<FindingPdf>, StoreError> {
        let action = self.gk.serving(&[Action::FindingPdfDownload])?;
        let summary = self
            .gk
            .fetch_one(&FINDING_PDF_BY_ID, self.bind_finding(id), action, id)
            .await?;
        queries::admit_pdf(&self.gk, &self.vault, summary).await
    }

    /// Store a new draft finding with its observations and PDF, all in one
    /// transaction with its audit record.
    pub async fn upload_finding(
        &self,
        patient: PatientId,
        new: &NewFinding,
        pdf: &[u8],
    ) -> Result<Admitted<FindingSummary>, StoreError> {
        let action = self.gk.serving(&[Action::FindingUpload])?;
        let record = self.gated_patient(patient, action).await?;
        let id = FindingId::random();
        // The sealed PDF is stored first; if the transaction below fails,
        // it is removed again (a crash in between leaves an orphan that
        // the sweeper reports, never a finding without its PDF).
        let blob = self
            .vault
            .seal_and_put(self.tenant, PDF_BLOB, &id.to_string(), pdf.to_vec())
            .await?;
        match self.insert_finding(id, record.get(), new, pdf, &blob).await {
            Ok(finding) => Ok(finding),
            Err(e) => {
                self.vault.discard(&blob).await;
                Err(e)
            }
        }
    }

    async fn insert_finding(
        &self,
        id: FindingId,
        record: &PatientRecord,
        new: &NewFinding,
        pdf: &[u8],
        blob: &BlobRef,
    ) -> Result<Admitted<FindingSummary>, StoreError> {
        let mut tx = self.gk.connections.begin(false).await?;
        self.insert_finding_rows(&mut tx, id, record, new, pdf, blob)
            .await?;
        let written = self
            .gk
            .reload_in(&mut tx, &FINDING_BY_ID, self.bind_finding(id))
            .await?;
        let access = queries::finding_access(written.get());
        self.gk
            .commit(tx, written, ResourceKind::Finding, access)
            .await
    }

    /// A draft finding's rows (finding, observations, its PDF's blob)
    /// inside the caller's transaction; the upload writes through here,
    /// the HL7 intake through [`insert_findings_rows`].
    pub(super) async fn insert_finding_rows(
        &self,
        conn: &mut AnyConnection,
        id: FindingId,
        record: &PatientRecord,
        new: &NewFinding,
        pdf: &[u8],
        blob: &BlobRef,
    ) -> Result<(), StoreError> {
        let row = FindingRows {
            id,
            tenant: record.tenant_id,
            patient: record.id,
            created_by: &self.actor_id,
            new,
            pdf,
            blob,
        };
        insert_findings_rows(conn, &[row]).await
    }

    pub async fn release(&self, id: FindingId) -> Result<Admitted<FindingSummary>, StoreError> {
        self.transition(id, Action::FindingRelease, FindingStatus::release)
            .await
    }

    pub async fn retract(&self, id: FindingId) -> Result<Admitted<FindingSummary>, StoreError> {
        self.transition(id, Action::FindingRetract, FindingStatus::retract)
            .await
    }

    /// Check scope and policy, apply the domain rule, write, audit; the
    /// write and its record are one transaction.
    async fn transition(
        &self,
        id: FindingId,
        serves: Action,
        rule: fn(FindingStatus) -> Result<FindingStatus, DomainError>,
    ) -> Result<Admitted<FindingSummary>, StoreError> {
        let action = self.gk.serving(&[serves])?;
        let current = self
            .gk
            .fetch_one(&FINDING_BY_ID, self.bind_finding(id), action, id)
            .await?;
        let (tenant, patient) = (current.get().tenant_id, current.get().patient_id);
        let mut tx = self.gk.connections.begin(true).await?;
        // Re-read the status under the write lock: a concurrent release or
        // retract must not be overwritten.
        let status: String =
            sqlx::query("SELECT status FROM findings WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.to_string())
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
                let refused = AuditEvent::new(action, ResourceKind::Finding, Outcome::Rejected)
                    .resource(id)
                    .concerning(tenant, Some(patient));
                return Err(self.gk.actor.rejected(refused, e.into()).await);
            }
        };
        let update = match next {
            FindingStatus::Released => {
                "UPDATE findings SET status = $1, released_at = $2 WHERE tenant_id = $3 AND id = $4"
            }
            FindingStatus::Retracted => {
                "UPDATE findings SET status = $1, retracted_at = $2 WHERE tenant_id = $3 AND id = $4"
            }
            FindingStatus::Draft => {
                return Err(StoreError::Corrupt("no transition leads to draft".into()));
            }
        };
        sqlx::query(update)
            .bind(next.as_str())
            .bind(now_millis())
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if next == FindingStatus::Released {
            // The patient's notification commits or rolls back with the
            // release (issue 11).
            let notice = Notice {
                tenant,
                patient,
                kind: NoticeKind::FindingReleased,
            };
            outbox::enqueue_in(&mut tx, &notice).await?;
        }
        let changed = self
            .gk
            .reload_in(&mut tx, &FINDING_BY_ID, self.bind_finding(id))
            .await?;
        let access = queries::finding_access(changed.get()).detail(format!(
            "{}->{}",
            status.as_str(),
            next.as_str()
        ));
        self.gk
            .commit(tx, changed, ResourceKind::Finding, access)
            .await
    }
}

/// One new draft finding's rows, as [`insert_findings_rows`] writes them.
pub(super) struct FindingRows<'a> {
    pub(super) id: FindingId,
    pub(super) tenant: TenantId,
    pub(super) patient: PatientId,
    pub(super) created_by: &'a str,
    pub(super) new: &'a NewFinding,
    pub(super) pdf: &'a [u8],
    pub(super) blob: &'a BlobRef,
}

/// Draft findings with their values and their PDFs' blobs, in one
/// statement per table (chunked): each statement is a round trip to the
/// database, and an HL7 group writes dozens of findings at once, one
/// after the other inside its transaction.
pub(super) async fn insert_findings_rows(
    conn: &mut AnyConnection,
    findings: &[FindingRows<'_>],
) -> Result<(), StoreError> {
    let now = now_millis();
    for chunk in findings.chunks(FINDINGS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO findings (id, tenant_id, patient_id, title, status, created_by, created_at, \
             pdf_size, pdf_sha256) VALUES {}",
            crate::sql::placeholders("(?, ?, ?, ?, 'draft', ?, ?, ?, ?)", chunk.len())
        );
        let mut query = sqlx::query(crate::sql::for_connection(conn, sql));
        for f in chunk {
            query = query
                .bind(f.id.to_string())
                .bind(f.tenant.to_string())
                .bind(f.patient.to_string())
                .bind(&f.new.title)
                .bind(f.created_by)
                .bind(now)
                .bind(f.pdf.len() as i64)
                .bind(hex::encode(Sha256::digest(f.pdf)));
        }
        query.execute(&mut *conn).await?;
    }
    let values: Vec<(FindingId, TenantId, usize, &Observation)> = findings
        .iter()
        .flat_map(|f| {
            f.new
                .observations
                .iter()
                .enumerate()
                .map(|(position, o)| (f.id, f.tenant, position, o))
        })
        .collect();
    for chunk in values.chunks(OBSERVATIONS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO observations (finding_id, position, tenant_id, code, display, value_numeric, \
             value_text, unit, reference_low, reference_high, flag) VALUES {}",
            crate::sql::placeholders("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", chunk.len())
        );
        // Not prepared once for all on PostgreSQL: sqlx 0.9's Any driver
        // declares a NULL float as float4 and a present one as float8, so
        // a statement prepared with a NULL reference range refuses a later
        // value there ("incorrect binary data format"). SQLite keeps it.
        let sqlite = crate::sql::Backend::of_connection(conn) == crate::sql::Backend::Sqlite;
        let mut query = sqlx::query(crate::sql::for_connection(conn, sql)).persistent(sqlite);
        for (finding, tenant, position, o) in chunk {
            let (numeric, text) = match &o.value {
                ObservationValue::Numeric(v) => (Some(*v), None),
                ObservationValue::Text(t) => (None, Some(t.as_str())),
            };
            query = query
                .bind(finding.to_string())
                .bind(*position as i64)
                .bind(tenant.to_string())
                .bind(&o.code)
                .bind(&o.display)
                .bind(numeric)
                .bind(text)
                .bind(&o.unit)
                .bind(o.reference_low)
                .bind(o.reference_high)
                .bind(o.flag.as_str());
        }
        query.execute(&mut *conn).await?;
    }
    let blobs: Vec<(&BlobRef, TenantId, String)> = findings
        .iter()
        .map(|f| (f.blob, f.tenant, f.id.to_string()))
        .collect();
    Vault::record_all(conn, PDF_BLOB, &blobs).await
}

/// Rows per insert, within both databases' limits on bound values
/// (8 and 11 values a row).
const FINDINGS_PER_STATEMENT: usize = 500;
const OBSERVATIONS_PER_STATEMENT: usize = 200;

#[cfg(test)]
mod tests {
    #[test]
    fn every_statement_is_fenced_by_tenant() {
        for sql in [
            super::FINDING_BY_ID.sql,
            super::FINDINGS_OF_PATIENT.sql,
            super::TENANT_FINDINGS_NEWEST,
            super::TENANT_FINDINGS_OLDEST,
            super::TENANT_VALUES_NEWEST,
            super::TENANT_VALUES_OLDEST,
        ] {
            assert!(sql.contains("(f.tenant_id = $1) /* fence */"), "{sql}");
        }
    }

    /// A page of the whole facility's findings, newest first, is read from
    /// `findings_by_date` in order and stops at the page's end, rather
    /// than sorting every finding of the tenant (the benchmark's 637 ms).
    #[tokio::test]
    async fn the_facility_list_is_read_in_date_order_from_its_index() {
        let (_dir, store) = crate::store_for_tests::sqlite_store().await;
        let plan =
            crate::store_for_tests::query_plan(&store, super::TENANT_FINDINGS_NEWEST, |query| {
                query
                    .bind("tenant")
                    .bind("")
                    .bind("")
                    .bind(0_i64)
                    .bind(i64::MAX)
                    .bind("released")
                    .bind("released")
                    .bind("released")
                    .bind(21_i64)
                    .bind(0_i64)
            })
            .await;
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH f USING INDEX findings_by_date")),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|step| step.contains("TEMP B-TREE")),
            "{plan:?}"
        );
    }
}
