//! Staff (tenant admins): who accessed one patient record of the own
//! facility, from the audit log. Only records of the own tenant about this
//! record, and only by actors of the own tenant or the patient themself:
//! the same person's records at other facilities, and other facilities'
//! staff, never appear.

use hippo_core::PatientId;
use hippo_core::policy::{Action, ResourceKind, ResourceRef};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::StaffScope;
use crate::admission::{Access, Admitted, Statement};
use crate::error::StoreError;
use crate::model::{AccessEntry, PatientRecord};
use crate::rows::parse;

/// A row of the log with the record it is about, for the gate.
struct LogRow {
    tenant: hippo_core::TenantId,
    patient: PatientId,
    entry: AccessEntry,
}

fn log_row(row: &AnyRow) -> Result<LogRow, StoreError> {
    let staff_name: Option<String> = row.try_get("staff_name")?;
    let key_name: Option<String> = row.try_get("api_key_name")?;
    let by_patient: String = row.try_get("by_patient")?;
    Ok(LogRow {
        tenant: parse(row, "tenant_id")?,
        patient: parse(row, "patient_id")?,
        entry: AccessEntry {
            id: row.try_get("id")?,
            patient_id: parse(row, "patient_id")?,
            at: row.try_get("at")?,
            facility: row.try_get("facility")?,
            actor_kind: row.try_get("actor_kind")?,
            by_self: by_patient == "patient",
            // The facility sees its own staff's names, and its lab
            // systems by their key's name.
            staff_name: staff_name.or(key_name),
            action: row.try_get("action")?,
            resource_kind: row.try_get("resource_kind")?,
            resource_id: row.try_get("resource_id")?,
            outcome: row.try_get("outcome")?,
        },
    })
}

/// `GET /api/v1/patients/{id}/access-log`: newest first, at most `$3`.
const ACCESS_LOG_OF_PATIENT: Statement<LogRow> = Statement {
    sql: "SELECT a.id, a.at, a.actor_kind, a.action, a.resource_kind, a.resource_id, \
          a.outcome, a.tenant_id, a.patient_id, t.name AS facility, \
          s.display_name AS staff_name, k.name AS api_key_name, \
          CASE WHEN EXISTS (SELECT 1 FROM account_patients ap WHERE ap.account_id = a.actor_id \
          AND ap.tenant_id = a.tenant_id AND ap.patient_id = a.patient_id) \
          THEN 'patient' ELSE '' END AS by_patient \
          FROM audit_records a JOIN tenants t ON t.id = a.tenant_id \
          LEFT JOIN staff_users s ON s.id = a.actor_id AND s.tenant_id = a.tenant_id \
          LEFT JOIN api_keys k ON k.id = a.actor_id AND k.tenant_id = a.tenant_id \
          WHERE (a.tenant_id = $1) /* fence */ AND a.patient_id = $2 \
          AND a.actor_kind <> 'system' \
          AND (a.actor_tenant_id IS NULL OR a.actor_tenant_id = $1) \
          ORDER BY a.seq DESC LIMIT $3",
    map: log_row,
    resource: |r| ResourceRef::Patient {
        tenant: r.tenant,
        patient: r.patient,
    },
    kind: ResourceKind::AuditRecord,
};

impl StaffScope {
    /// One patient record of the own tenant with who accessed it. Absent,
    /// foreign and refused records all answer "not found" and are
    /// recorded; reading the log is itself recorded, as a list (so that
    /// repeated looks fold into one line of the histories).
    pub async fn patient_access_log(
        &self,
        id: PatientId,
        limit: i64,
    ) -> Result<Admitted<(PatientRecord, Vec<AccessEntry>)>, StoreError> {
        let action = self.gk.serving(&[Action::PatientAccessLogRead])?;
        let record = self.gated_patient(id, action).await?;
        let tenant = self.tenant.to_string();
        let rows = self
            .gk
            .fetch_all(
                &ACCESS_LOG_OF_PATIENT,
                |q| q.bind(tenant).bind(id.to_string()).bind(limit),
                action,
            )
            .await?;
        let entries = rows.with(|rows| rows.into_iter().map(|r| r.entry).collect::<Vec<_>>());
        let access = Access::default()
            .concerning(self.tenant, Some(id))
            .detail(format!("listed={}", entries.get().len()));
        self.gk
            .admit(record.zip(entries), ResourceKind::AuditRecord, vec![access])
            .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_statement_is_fenced_by_tenant_and_by_the_actors_tenant() {
        let sql = super::ACCESS_LOG_OF_PATIENT.sql;
        assert!(sql.contains("(a.tenant_id = $1) /* fence */"), "{sql}");
        assert!(sql.contains("a.actor_tenant_id = $1"), "{sql}");
        assert!(sql.contains("a.patient_id = $2"), "{sql}");
    }
}
