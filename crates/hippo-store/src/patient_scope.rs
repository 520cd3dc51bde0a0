//! What a patient account can reach: released findings of the patient
//! records linked to that account, and the access history of those
//! records. The account ID is a fence predicate of every statement and
//! every loaded row is put to the policy gate (`crate::admission`).

use std::collections::BTreeMap;
use std::sync::Arc;

use hippo_core::switches::SwitchBoard;

use hippo_core::policy::{Action, ResourceKind, ResourceRef};
use hippo_core::{AccountId, FindingId, PatientId, Principal, TenantId};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::admission::{
    Access, Admitted, Bound, Connections, Gated, Gatekeeper, Request, Statement,
};
use crate::error::StoreError;
use crate::model::{
    AccessEntry, FindingDetail, FindingPdf, FindingSummary, PatientRecord, TrendPoint,
};
use crate::queries;
use crate::rows::{self, finding_pdf_ref, finding_ref, parse};
use crate::search::{
    self, FindingPage, FindingQuery, ObservationPage, ObservationRecord, PatientPage, PatientQuery,
};
use crate::tree_heads::InclusionProof;
use crate::vault::Vault;
use hippo_core::finding::{AbnormalFlag, FindingStatus};

/// `GET /api/v1/findings`: released findings whose (tenant, patient) is
/// linked to the account, newest first. A row-value IN rather than a
/// correlated EXISTS, so that the list walks the account's links and the
/// findings index, not every finding.
const OWN_FINDINGS: Statement<FindingSummary> = Statement {
    sql: "SELECT f.id, f.tenant_id, t.name AS tenant_name, f.patient_id, \
          f.title, f.status, f.created_at, f.released_at, f.retracted_at, f.pdf_size, \
          (SELECT COUNT(*) FROM observations o WHERE o.finding_id = f.id AND o.flag <> 'N') AS abnormal_count, \
          CAST(CASE WHEN EXISTS (SELECT 1 FROM audit_records r WHERE r.action = 'finding_read' \
          AND r.outcome = 'success' AND r.resource_id = f.id AND r.actor_id = $1) THEN 0 ELSE 1 END AS BIGINT) AS is_new \
          FROM findings f JOIN tenants t ON t.id = f.tenant_id \
          WHERE f.status = 'released' AND ((f.tenant_id, f.patient_id) IN \
          (SELECT ap.tenant_id, ap.patient_id FROM account_patients ap WHERE ap.account_id = $1)) /* fence */ \
          ORDER BY f.released_at DESC, f.id",
    map: rows::own_finding_summary,
    resource: finding_ref,
    kind: ResourceKind::Finding,
};

/// `GET /api/v1/findings/{id}` for a patient: one of the above by ID.
const OWN_FINDING_BY_ID_SQL: &str = "SELECT f.id, f.tenant_id, t.name AS tenant_name, \
     f.patient_id, f.title, f.status, f.created_at, f.released_at, f.retracted_at, f.pdf_size, \
     (SELECT COUNT(*) FROM observations o WHERE o.finding_id = f.id AND o.flag <> 'N') AS abnormal_count \
     FROM findings f JOIN tenants t ON t.id = f.tenant_id \
     WHERE f.id = $2 AND f.status = 'released' AND ((f.tenant_id, f.patient_id) IN \
     (SELECT ap.tenant_id, ap.patient_id FROM account_patients ap WHERE ap.account_id = $1)) /* fence */";

const OWN_FINDING_BY_ID: Statement<FindingSummary> = Statement {
    sql: OWN_FINDING_BY_ID_SQL,
    map: rows::finding_summary,
    resource: finding_ref,
    kind: ResourceKind::Finding,
};

/// `GET /api/v1/findings/{id}/pdf`: the same row, judged as a PDF.
const OWN_FINDING_PDF_BY_ID: Statement<FindingSummary> = Statement {
    sql: OWN_FINDING_BY_ID_SQL,
    map: rows::finding_summary,
    resource: finding_pdf_ref,
    kind: ResourceKind::FindingPdf,
};

/// The trend points of the analytes of one of the account's findings
/// (`$2`, already admitted): every numeric value with the same code in
/// the account's own released findings, at any linked facility, oldest
/// first. The fence is on the values' findings, so a point of another
/// patient cannot be selected whatever `$2` is.
const OWN_TRENDS: Statement<TrendPoint> = Statement {
    sql: "SELECT f.id AS finding_id, f.tenant_id, f.patient_id, t.name AS facility, \
          COALESCE(f.released_at, f.created_at) AS at, o.code, o.display, o.value_numeric, o.unit, \
          o.reference_low, o.reference_high, o.flag \
          FROM observations o JOIN findings f ON f.id = o.finding_id AND f.tenant_id = o.tenant_id \
          JOIN tenants t ON t.id = f.tenant_id \
          WHERE f.status = 'released' AND o.value_numeric IS NOT NULL \
          AND o.code IN (SELECT c.code FROM observations c WHERE c.finding_id = $2) \
          AND ((f.tenant_id, f.patient_id) IN \
          (SELECT ap.tenant_id, ap.patient_id FROM account_patients ap WHERE ap.account_id = $1)) /* fence */ \
          ORDER BY o.code, at, f.id, o.position",
    map: trend_point,
    resource: |p| ResourceRef::Finding {
        tenant: p.tenant_id,
        patient: p.patient_id,
        finding: p.finding_id,
        status: FindingStatus::Released,
    },
    kind: ResourceKind::Finding,
};

fn trend_point(row: &AnyRow) -> Result<TrendPoint, StoreError> {
    let flag: String = row.try_get("flag")?;
    Ok(TrendPoint {
        finding_id: parse(row, "finding_id")?,
        tenant_id: parse(row, "tenant_id")?,
        patient_id: parse(row, "patient_id")?,
        facility: row.try_get("facility")?,
        at: row.try_get("at")?,
        code: row.try_get("code")?,
        display: row.try_get("display")?,
        value: row.try_get("value_numeric")?,
        unit: row.try_get("unit")?,
        reference_low: row.try_get("reference_low")?,
        reference_high: row.try_get("reference_high")?,
        flag: AbnormalFlag::parse(&flag).ok_or_else(|| StoreError::Corrupt("flag".into()))?,
    })
}

/// The account's fence on findings: released, of a linked patient record.
macro_rules! own_findings_fence {
    () => {
        "f.status = 'released' AND ((f.tenant_id, f.patient_id) IN \
         (SELECT ap.tenant_id, ap.patient_id FROM account_patients ap WHERE ap.account_id = $1)) /* fence */"
    };
}

fn own_finding_search(sql: &'static str) -> Statement<FindingSummary> {
    Statement {
        sql,
        map: rows::finding_summary,
        resource: finding_ref,
        kind: ResourceKind::Finding,
    }
}

/// FHIR `DiagnosticReport?`: the account's released findings, filtered.
const OWN_FINDINGS_NEWEST: &str = concat!(
    search::finding_columns!(),
    own_findings_fence!(),
    search::finding_filters!(),
    search::newest_first!()
);
const OWN_FINDINGS_OLDEST: &str = concat!(
    search::finding_columns!(),
    own_findings_fence!(),
    search::finding_filters!(),
    search::oldest_first!()
);

/// FHIR `Observation?`: the values of the account's released findings.
const OWN_VALUES_NEWEST: &str = concat!(
    search::observation_columns!(),
    own_findings_fence!(),
    search::observation_filters!(),
    search::newest_first!(values)
);
const OWN_VALUES_OLDEST: &str = concat!(
    search::observation_columns!(),
    own_findings_fence!(),
    search::observation_filters!(),
    search::oldest_first!(values)
);

fn own_value_search(sql: &'static str) -> Statement<ObservationRecord> {
    Statement {
        sql,
        map: search::observation_record,
        resource: search::observation_ref,
        kind: ResourceKind::Finding,
    }
}

fn own_patient_ref(p: &PatientRecord) -> ResourceRef {
    ResourceRef::Patient {
        tenant: p.tenant_id,
        patient: p.id,
    }
}

/// FHIR `Patient?` and `Patient/{id}` for a patient: the records linked
/// to the account.
const OWN_PATIENTS: Statement<PatientRecord> = Statement {
    sql: concat!(
        "SELECT p.id, p.tenant_id, p.given_name, p.family_name, p.birth_date, p.created_at \
         FROM patients p WHERE ((p.tenant_id, p.id) IN \
         (SELECT ap.tenant_id, ap.patient_id FROM account_patients ap WHERE ap.account_id = $1)) /* fence */",
        search::patient_filters!()
    ),
    map: rows::patient,
    resource: own_patient_ref,
    kind: ResourceKind::Patient,
};

const OWN_PATIENT_BY_ID: Statement<PatientRecord> = Statement {
    sql: "SELECT p.id, p.tenant_id, p.given_name, p.family_name, p.birth_date, p.created_at \
          FROM patients p WHERE ((p.tenant_id, p.id) IN \
          (SELECT ap.tenant_id, ap.patient_id FROM account_patients ap WHERE ap.account_id = $1)) /* fence */ \
          AND p.id = $2",
    map: rows::patient,
    resource: own_patient_ref,
    kind: ResourceKind::Patient,
};

/// The incident drill's bug: any released finding by ID, no owner.
#[cfg(feature = "fence-bypass")]
const ANY_RELEASED_FINDING_BY_ID: Statement<FindingSummary> = Statement {
    sql: "SELECT f.id, f.tenant_id, t.name AS tenant_name, \
          f.patient_id, f.title, f.status, f.created_at, f.released_at, f.retracted_at, f.pdf_size, \
          (SELECT COUNT(*) FROM observations o WHERE o.finding_id = f.id AND o.flag <> 'N') AS abnormal_count \
          FROM findings f JOIN tenants t ON t.id = f.tenant_id \
          WHERE f.id = $1 AND f.status = 'released'",
    map: rows::finding_summary,
    resource: finding_pdf_ref,
    kind: ResourceKind::FindingPdf,
};

/// An access record about one of the account's patient records, with what
/// the patient may see of who did it.
struct HistoryRow {
    tenant: TenantId,
    patient: PatientId,
    entry: AccessEntry,
}

fn history_row(row: &AnyRow) -> Result<HistoryRow, StoreError> {
    let actor: Option<String> = row.try_get("actor_id")?;
    let me: String = row.try_get("me")?;
    Ok(HistoryRow {
        tenant: parse(row, "tenant_id")?,
        patient: parse(row, "patient_id")?,
        entry: AccessEntry {
            id: row.try_get("id")?,
            patient_id: parse(row, "patient_id")?,
            at: row.try_get("at")?,
            facility: row.try_get("facility")?,
            actor_kind: row.try_get("actor_kind")?,
            by_self: actor.as_deref() == Some(me.as_str()),
            staff_name: row.try_get("staff_name")?,
            action: row.try_get("action")?,
            resource_kind: row.try_get("resource_kind")?,
            resource_id: row.try_get("resource_id")?,
            outcome: row.try_get("outcome")?,
        },
    })
}

fn history_ref(h: &HistoryRow) -> ResourceRef {
    ResourceRef::AuditEntry {
        tenant: h.tenant,
        patient: h.patient,
    }
}

/// `GET /api/v1/access-log`: every recorded access to the account's
/// patient records, newest first, except the holder's own looks at this
/// list. Staff names only where the facility shows them.
const OWN_ACCESS_HISTORY: Statement<HistoryRow> = Statement {
    sql: "SELECT a.id, a.at, a.actor_kind, a.actor_id, a.action, a.resource_kind, a.resource_id, \
          a.outcome, a.tenant_id, a.patient_id, t.name AS facility, $1 AS me, \
          CASE WHEN t.show_staff_names_to_patients = 1 THEN s.display_name END AS staff_name \
          FROM audit_records a JOIN tenants t ON t.id = a.tenant_id \
          LEFT JOIN staff_users s ON s.id = a.actor_id AND s.tenant_id = a.tenant_id \
          WHERE a.patient_id IS NOT NULL AND a.actor_kind <> 'system' \
          AND (EXISTS (SELECT 1 FROM account_patients ap WHERE ap.account_id = $1 \
          AND ap.tenant_id = a.tenant_id AND ap.patient_id = a.patient_id)) /* fence */ \
          AND NOT (a.actor_id = $1 AND a.action IN ('access_log_read', 'access_proof_read')) \
          ORDER BY a.seq DESC LIMIT $2",
    map: history_row,
    resource: history_ref,
    kind: ResourceKind::AuditRecord,
};

fn record_owner(row: &AnyRow) -> Result<(TenantId, PatientId), StoreError> {
    Ok((parse(row, "tenant_id")?, parse(row, "patient_id")?))
}

/// `GET /api/v1/access-log/{id}/proof`: one access record about the
/// account's own patient records.
const OWN_ACCESS_RECORD: Statement<(TenantId, PatientId)> = Statement {
    sql: "SELECT a.tenant_id, a.patient_id FROM audit_records a \
          WHERE a.id = $2 AND a.patient_id IS NOT NULL \
          AND (EXISTS (SELECT 1 FROM account_patients ap WHERE ap.account_id = $1 \
          AND ap.tenant_id = a.tenant_id AND ap.patient_id = a.patient_id)) /* fence */",
    map: record_owner,
    resource: |&(tenant, patient)| ResourceRef::AuditEntry { tenant, patient },
    kind: ResourceKind::AuditRecord,
};

/// One success record per patient record whose data a list showed (or
/// one saying that it showed none).
pub(crate) fn per_patient_accesses(
    pairs: impl Iterator<Item = (TenantId, PatientId)>,
) -> Vec<Access> {
    let mut counts = BTreeMap::new();
    for pair in pairs {
        *counts.entry(pair).or_insert(0usize) += 1;
    }
    if counts.is_empty() {
        return vec![Access::default().detail("listed=0")];
    }
    counts
        .into_iter()
        .map(|((tenant, patient), count)| {
            Access::default()
                .concerning(tenant, Some(patient))
                .detail(format!("listed={count}"))
        })
        .collect()
}

#[derive(Clone)]
pub struct PatientScope {
    pub(crate) gk: Gatekeeper,
    pub(crate) vault: Vault,
    pub(crate) account: AccountId,
    /// What is switched off now; the tenant of a patient's object is
    /// known only once it is loaded, so the check is here.
    pub(crate) switches: Arc<SwitchBoard>,
}

impl PatientScope {
    pub(crate) fn new(
        pool: AnyPool,
        vault: Vault,
        principal: &Principal,
        request: Request,
        switches: Arc<SwitchBoard>,
    ) -> Option<Self> {
        let Principal::Patient { account_id, .. } = principal else {
            return None;
        };
        Some(Self {
            gk: Gatekeeper::new(request, Connections::Main(pool)),
            vault,
            account: *account_id,
            switches,
        })
    }

    /// Refuse, before anything is admitted or recorded as served, an
    /// object of a tenant where `action`'s service is switched off.
    pub(crate) fn available(&self, action: Action, tenant: TenantId) -> Result<(), StoreError> {
        match self.switches.for_tenant(action.services(), tenant) {
            Some(outage) => Err(StoreError::ServiceOff(outage.clone())),
            None => Ok(()),
        }
    }

    /// Whether `tenant`'s objects may be listed under `action` now.
    pub(crate) fn listable(&self, action: Action, tenant: TenantId) -> bool {
        self.switches
            .for_tenant(action.services(), tenant)
            .is_none()
    }

    fn bind_account(&self) -> impl FnOnce(Bound<'static>) -> Bound<'static> {
        let account = self.account.to_string();
        move |q| q.bind(account)
    }

    fn bind_own(&self, id: impl ToString) -> impl FnOnce(Bound<'static>) -> Bound<'static> {
        let (account, id) = (self.account.to_string(), id.to_string());
        move |q| q.bind(account).bind(id)
    }

    async fn require_own(&self, action: Action, kind: ResourceKind) -> Result<(), StoreError> {
        let account = ResourceRef::Account(self.account);
        self.gk.require(action, &account, kind, self.account).await
    }

    /// Own released findings across all linked facilities, newest first.
    /// One audit record per patient record whose data was shown.
    pub async fn findings(&self) -> Result<Admitted<Vec<FindingSummary>>, StoreError> {
        let action = self.gk.serving(&[Action::OwnFindingsList])?;
        self.require_own(action, ResourceKind::Finding).await?;
        let findings = self
            .gk
            .fetch_all(&OWN_FINDINGS, self.bind_account(), Action::FindingRead)
            .await?
            .with(|all| {
                all.into_iter()
                    .filter(|f| self.listable(action, f.tenant_id))
                    .collect::<Vec<_>>()
            });
        let accesses =
            per_patient_accesses(findings.get().iter().map(|f| (f.tenant_id, f.patient_id)));
        self.gk
            .admit(findings, ResourceKind::Finding, accesses)
            .await
    }

    pub async fn finding(&self, id: FindingId) -> Result<Admitted<FindingDetail>, StoreError> {
        let action = self.gk.serving(&[Action::FindingRead])?;
        let summary = self
            .gk
            .fetch_one(&OWN_FINDING_BY_ID, self.bind_own(id), action, id)
            .await?;
        self.available(action, summary.get().tenant_id)?;
        queries::admit_detail(&self.gk, summary).await
    }

    /// The trend of every numeric analyte of `finding` across the
    /// account's own released findings, oldest first per code. One audit
    /// record per patient record whose values were shown.
    pub async fn trends(
        &self,
        finding: &Admitted<FindingDetail>,
    ) -> Result<Admitted<Vec<TrendPoint>>, StoreError> {
        let action = self.gk.serving(&[Action::FindingRead])?;
        let bind = self.bind_own(finding.summary.id);
        let points = self
            .gk
            .fetch_all(&OWN_TRENDS, bind, action)
            .await?
            .with(|all| {
                all.into_iter()
                    .filter(|p| self.listable(action, p.tenant_id))
                    .collect::<Vec<_>>()
            });
        let accesses =
            per_patient_accesses(points.get().iter().map(|p| (p.tenant_id, p.patient_id)));
        self.gk.admit(points, ResourceKind::Finding, accesses).await
    }

    pub async fn finding_pdf(&self, id: FindingId) -> Result<Admitted<FindingPdf>, StoreError> {
        let action = self.gk.serving(&[Action::FindingPdfDownload])?;
        let summary = match self.drilled_pdf_summary(id, action).await? {
            Some(summary) => summary,
            None => {
                self.gk
                    .fetch_one(&OWN_FINDING_PDF_BY_ID, self.bind_own(id), action, id)
                    .await?
            }
        };
        self.available(action, summary.get().tenant_id)?;
        queries::admit_pdf(&self.gk, &self.vault, summary).await
    }

    /// The incident drill re-creates the 2021 bug here and nowhere else:
    /// the PDF download of any released finding, no owner, no gate.
    #[cfg(feature = "fence-bypass")]
    async fn drilled_pdf_summary(
        &self,
        id: FindingId,
        action: Action,
    ) -> Result<Option<Gated<FindingSummary>>, StoreError> {
        if !self.gk.scoping().drill_skips_owner_check() {
            return Ok(None);
        }
        let bind = move |q: Bound<'static>| q.bind(id.to_string());
        self.gk
            .internal_drill_fetch_ungated(&ANY_RELEASED_FINDING_BY_ID, bind, action, id)
            .await
            .map(Some)
    }

    #[cfg(not(feature = "fence-bypass"))]
    async fn drilled_pdf_summary(
        &self,
        _: FindingId,
        _: Action,
    ) -> Result<Option<Gated<FindingSummary>>, StoreError> {
        Ok(None)
    }

    /// FHIR `DiagnosticReport?`: a page of the account's released
    /// findings with their values. One audit record per patient record
    /// whose data was shown.
    pub async fn search_findings(
        &self,
        query: &FindingQuery,
    ) -> Result<Admitted<FindingPage>, StoreError> {
        let action = self.gk.serving(&[Action::FhirFindingSearch])?;
        self.require_own(action, ResourceKind::Finding).await?;
        let sql = if query.newest_first {
            OWN_FINDINGS_NEWEST
        } else {
            OWN_FINDINGS_OLDEST
        };
        let found = self
            .gk
            .fetch_all(
                &own_finding_search(sql),
                query.bind(self.account.to_string()),
                Action::FindingRead,
            )
            .await?;
        let (rows, has_more) = query.page(
            found
                .get()
                .iter()
                .filter(|f| self.listable(action, f.tenant_id))
                .cloned()
                .collect(),
        );
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

    /// FHIR `Observation?`: a page of the values of the account's
    /// released findings.
    pub async fn search_observations(
        &self,
        query: &FindingQuery,
    ) -> Result<Admitted<ObservationPage>, StoreError> {
        let action = self.gk.serving(&[Action::FhirFindingSearch])?;
        self.require_own(action, ResourceKind::Finding).await?;
        let sql = if query.newest_first {
            OWN_VALUES_NEWEST
        } else {
            OWN_VALUES_OLDEST
        };
        let found = self
            .gk
            .fetch_all(
                &own_value_search(sql),
                query.bind(self.account.to_string()),
                Action::FindingRead,
            )
            .await?
            .with(|all| {
                let listable = all
                    .into_iter()
                    .filter(|o| self.listable(action, o.tenant_id))
                    .collect();
                let (observations, has_more) = query.page(listable);
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

    /// FHIR `Patient?` for a patient: the account's own patient records.
    pub async fn search_patients(
        &self,
        query: &PatientQuery,
    ) -> Result<Admitted<PatientPage>, StoreError> {
        let action = self.gk.serving(&[Action::FhirPatientSearch])?;
        self.require_own(action, ResourceKind::Patient).await?;
        let found = self
            .gk
            .fetch_all(
                &OWN_PATIENTS,
                query.bind(self.account.to_string()),
                Action::FhirPatientRead,
            )
            .await?
            .with(|rows| query.page(rows));
        let accesses =
            per_patient_accesses(found.get().patients.iter().map(|p| (p.tenant_id, p.id)));
        self.gk.admit(found, ResourceKind::Patient, accesses).await
    }

    /// FHIR `Patient/{id}` for a patient: one of the account's records.
    pub async fn patient(&self, id: PatientId) -> Result<Admitted<PatientRecord>, StoreError> {
        let action = self.gk.serving(&[Action::FhirPatientRead])?;
        let record = self
            .gk
            .fetch_one(&OWN_PATIENT_BY_ID, self.bind_own(id), action, id)
            .await?;
        let access = Access::of(id).concerning(record.get().tenant_id, Some(id));
        self.gk
            .admit(record, ResourceKind::Patient, vec![access])
            .await
    }

    /// Every recorded access to the account's patient records, newest
    /// first (at most `limit`), except the holder's own looks at this list.
    pub async fn access_history(
        &self,
        limit: i64,
    ) -> Result<Admitted<Vec<AccessEntry>>, StoreError> {
        let action = self.gk.serving(&[Action::AccessLogRead])?;
        self.require_own(action, ResourceKind::AuditRecord).await?;
        let account = self.account.to_string();
        let rows = self
            .gk
            .fetch_all(
                &OWN_ACCESS_HISTORY,
                |q| q.bind(account).bind(limit),
                Action::AccessProofRead,
            )
            .await?;
        let accesses = per_patient_accesses(rows.get().iter().map(|h| (h.tenant, h.patient)));
        let entries = rows.with(|rows| rows.into_iter().map(|h| h.entry).collect());
        self.gk
            .admit(entries, ResourceKind::AuditRecord, accesses)
            .await
    }

    /// The inclusion proof of one access record about the account's own
    /// patient records; anything else is not found.
    pub async fn access_proof(&self, id: &str) -> Result<Admitted<InclusionProof>, StoreError> {
        let action = self.gk.serving(&[Action::AccessProofRead])?;
        let owner = self
            .gk
            .fetch_one(&OWN_ACCESS_RECORD, self.bind_own(id), action, id)
            .await?;
        let &(tenant, patient) = owner.get();
        let proof = self.gk.actor.audit.inclusion_proof(id).await?;
        let access = Access::of(id).concerning(tenant, Some(patient));
        self.gk
            .admit(
                owner.with(|_| proof),
                ResourceKind::AuditRecord,
                vec![access],
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_statement_is_fenced_by_account() {
        for sql in [
            super::OWN_FINDINGS.sql,
            super::OWN_FINDING_BY_ID.sql,
            super::OWN_TRENDS.sql,
            super::OWN_ACCESS_HISTORY.sql,
            super::OWN_ACCESS_RECORD.sql,
            super::OWN_FINDINGS_NEWEST,
            super::OWN_FINDINGS_OLDEST,
            super::OWN_VALUES_NEWEST,
            super::OWN_VALUES_OLDEST,
            super::OWN_PATIENTS.sql,
            super::OWN_PATIENT_BY_ID.sql,
        ] {
            let fence = sql.find(") /* fence */").expect("a fence predicate");
            assert!(sql[..fence].contains("ap.account_id = $1"), "{sql}");
        }
    }
}
