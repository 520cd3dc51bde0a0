//! Benchmark-only access (cargo feature `bench-baseline`, enabled only by
//! `hippo-bench`; the `hippo` binary never has it). Two unscoped paths,
//! named `internal_bench_*` so that they are easy to grep:
//!
//! * the load harness's baseline **B**: the same finding read as a scoped
//!   `GET /api/v1/findings/{id}`, with no session, policy or audit, so the
//!   cost of those can be measured against it;
//! * bulk generation of patients and released findings at the scale the
//!   harness runs (100,000 patients, 500,000 findings by default), which
//!   the audited one-at-a-time provisioning path would take hours for.

use hippo_core::time_util::now_millis;
use hippo_core::{FindingId, PatientId, TenantId};

use super::Store;
use crate::error::StoreError;
use crate::model::FindingDetail;
use crate::queries;
use crate::rows::finding_summary;

/// Rows per multi-row INSERT while generating data.
const ROWS_PER_INSERT: usize = 200;

impl Store {
    /// Baseline B: the finding and its observations, unscoped, unaudited.
    pub async fn internal_bench_unaudited_finding(
        &self,
        id: FindingId,
    ) -> Result<Option<FindingDetail>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query(
            "SELECT f.id, f.tenant_id, t.name AS tenant_name, f.patient_id, \
             f.title, f.status, f.created_at, f.released_at, f.retracted_at, f.pdf_size, \
             (SELECT COUNT(*) FROM observations o WHERE o.finding_id = f.id AND o.flag <> 'N') AS abnormal_count \
             FROM findings f JOIN tenants t ON t.id = f.tenant_id WHERE f.id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(summary) = row.as_ref().map(finding_summary).transpose()? else {
            return Ok(None);
        };
        let observations = queries::observations(&mut conn, summary.tenant_id, summary.id).await?;
        Ok(Some(FindingDetail {
            summary,
            observations,
        }))
    }

    /// Generate `patients` patients of `tenant`, each with
    /// `findings_per_patient` released findings of three observations (one
    /// of them out of range), in large transactions. No PDFs: findings
    /// generated this way are for reading values, not downloads.
    pub async fn internal_bench_generate(
        &self,
        tenant: TenantId,
        patients: usize,
        findings_per_patient: usize,
        created_by: &str,
    ) -> Result<Vec<(PatientId, Vec<FindingId>)>, StoreError> {
        let now = now_millis();
        let generated: Vec<(PatientId, Vec<FindingId>)> = (0..patients)
            .map(|_| {
                (
                    PatientId::random(),
                    (0..findings_per_patient)
                        .map(|_| FindingId::random())
                        .collect(),
                )
            })
            .collect();
        let mut tx = crate::sql::begin_write(&self.pool).await?;
        crate::sql::set_visible_tenant(&mut tx, "*", true).await?;
        for (n, chunk) in generated.chunks(ROWS_PER_INSERT).enumerate() {
            let mut sql = String::from(
                "INSERT INTO patients (id, tenant_id, given_name, family_name, birth_date, created_at) VALUES ",
            );
            sql.push_str(&vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", "));
            let mut query = sqlx::query(crate::sql::numbered(sql));
            for (i, (patient, _)) in chunk.iter().enumerate() {
                let number = n * ROWS_PER_INSERT + i;
                query = query
                    .bind(patient.to_string())
                    .bind(tenant.to_string())
                    .bind(format!("Given{number}"))
                    .bind(format!("Family{number}"))
                    .bind(format!(
                        "19{:02}-0{}-1{}",
                        number % 100,
                        1 + number % 9,
                        number % 10
                    ))
                    .bind(now);
            }
            query.execute(&mut *tx).await?;
        }
        let findings: Vec<(PatientId, FindingId)> = generated
            .iter()
            .flat_map(|(p, fs)| fs.iter().map(move |f| (*p, *f)))
            .collect();
        for chunk in findings.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO findings (id, tenant_id, patient_id, title, status, created_by, created_at, \
                 released_at, pdf_size, pdf_sha256) VALUES ",
            );
            sql.push_str(&vec!["(?, ?, ?, ?, 'released', ?, ?, ?, 0, '')"; chunk.len()].join(", "));
            let mut query = sqlx::query(crate::sql::numbered(sql));
            for (patient, finding) in chunk {
                query = query
                    .bind(finding.to_string())
                    .bind(tenant.to_string())
                    .bind(patient.to_string())
                    .bind("Kleines Blutbild")
                    .bind(created_by)
                    .bind(now)
                    .bind(now);
            }
            query.execute(&mut *tx).await?;
            let mut sql = String::from(
                "INSERT INTO observations (finding_id, position, tenant_id, code, display, value_numeric, \
                 unit, reference_low, reference_high, flag) VALUES ",
            );
            sql.push_str(&vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len() * 3].join(", "));
            let mut query = sqlx::query(crate::sql::numbered(sql));
            for (_, finding) in chunk {
                for (position, (code, display, value, unit, low, high, flag)) in [
                    ("718-7", "Hämoglobin", 13.2, "g/dl", 12.0, 17.5, "N"),
                    ("6690-2", "Leukozyten", 11.8, "/nl", 4.0, 10.0, "H"),
                    ("777-3", "Thrombozyten", 250.0, "/nl", 150.0, 400.0, "N"),
                ]
                .into_iter()
                .enumerate()
                {
                    query = query
                        .bind(finding.to_string())
                        .bind(position as i64)
                        .bind(tenant.to_string())
                        .bind(code)
                        .bind(display)
                        .bind(value)
                        .bind(unit)
                        .bind(low)
                        .bind(high)
                        .bind(flag);
                }
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(generated)
    }
}
