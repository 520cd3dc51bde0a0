//! Searches over findings, their values and patient records with filters
//! in SQL (code, date window, status, patient), for the FHIR facade. The
//! statements live with their scope (`patient_scope`, `staff_scope`),
//! fenced like every other; this module holds what they share: the query,
//! the page, and how a value row maps.

use hippo_core::finding::{FindingStatus, Observation};
use hippo_core::policy::ResourceRef;
use hippo_core::time_util::UnixMillis;
use hippo_core::{FindingId, PatientId, TenantId};
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::admission::Bound;
use crate::error::StoreError;
use crate::model::{FindingDetail, FindingSummary, PatientRecord};
use crate::queries::observations;
use crate::rows::{observation, parse};

/// The largest page a search returns, whatever the caller asks for.
pub const MAX_PAGE: u32 = 100;
/// The furthest a search pages (rows skipped), to bound the work a
/// request can ask for.
pub const MAX_OFFSET: u32 = 10_000;

/// What a search of findings (or of their values) asks for. The date is
/// the finding's date (released, else created) as a half-open window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingQuery {
    pub patient: Option<PatientId>,
    /// An observation code (LOINC) the finding (or the value) carries.
    pub code: Option<String>,
    pub from: UnixMillis,
    pub until: UnixMillis,
    /// Empty: every status the caller may see.
    pub statuses: Vec<FindingStatus>,
    /// Newest first when true, oldest first otherwise.
    pub newest_first: bool,
    pub count: u32,
    pub offset: u32,
}

impl Default for FindingQuery {
    fn default() -> Self {
        Self {
            patient: None,
            code: None,
            from: i64::MIN / 2,
            until: i64::MAX / 2,
            statuses: Vec::new(),
            newest_first: true,
            count: 20,
            offset: 0,
        }
    }
}

impl FindingQuery {
    pub(crate) fn limit(&self) -> i64 {
        i64::from(self.count.clamp(1, MAX_PAGE)) + 1
    }

    pub(crate) fn skip(&self) -> i64 {
        i64::from(self.offset.min(MAX_OFFSET))
    }

    /// Binds `$2..$10` after the fence's `$1`: patient, code, window,
    /// three status slots, limit, offset.
    pub(crate) fn bind(&self, fence: String) -> impl FnOnce(Bound<'static>) -> Bound<'static> {
        let patient = self.patient.map(|p| p.to_string()).unwrap_or_default();
        let code = self.code.clone().unwrap_or_default();
        let mut statuses: Vec<String> = if self.statuses.is_empty() {
            vec!["draft".into(), "released".into(), "retracted".into()]
        } else {
            self.statuses.iter().map(|s| s.as_str().into()).collect()
        };
        statuses.resize(3, String::new());
        let (from, until, limit, skip) = (self.from, self.until, self.limit(), self.skip());
        move |q| {
            let q = q
                .bind(fence)
                .bind(patient)
                .bind(code)
                .bind(from)
                .bind(until);
            statuses
                .into_iter()
                .fold(q, |q, s| q.bind(s))
                .bind(limit)
                .bind(skip)
        }
    }

    /// Split a fetched page (one row more than asked) into the page and
    /// whether another follows.
    pub(crate) fn page<T>(&self, mut rows: Vec<T>) -> (Vec<T>, bool) {
        let size = self.count.clamp(1, MAX_PAGE) as usize;
        let more = rows.len() > size;
        rows.truncate(size);
        (rows, more)
    }
}

/// The filters every finding search statement carries after its fence,
/// with the date expression and the parameters of [`FindingQuery::bind`].
macro_rules! finding_filters {
    () => {
        " AND ($2 = '' OR f.patient_id = $2) \
          AND ($3 = '' OR EXISTS (SELECT 1 FROM observations c WHERE c.finding_id = f.id \
          AND c.tenant_id = f.tenant_id AND c.code = $3)) \
          AND COALESCE(f.released_at, f.created_at) >= $4 \
          AND COALESCE(f.released_at, f.created_at) < $5 \
          AND f.status IN ($6, $7, $8) "
    };
}
pub(crate) use finding_filters;

/// The same filters for a value row (`o`), the code on the value itself.
macro_rules! observation_filters {
    () => {
        " AND ($2 = '' OR f.patient_id = $2) \
          AND ($3 = '' OR o.code = $3) \
          AND COALESCE(f.released_at, f.created_at) >= $4 \
          AND COALESCE(f.released_at, f.created_at) < $5 \
          AND f.status IN ($6, $7, $8) "
    };
}
pub(crate) use observation_filters;

/// The columns of a finding search row (`f`, `t`).
macro_rules! finding_columns {
    () => {
        "SELECT f.id, f.tenant_id, t.name AS tenant_name, f.patient_id, \
          f.title, f.status, f.created_at, f.released_at, f.retracted_at, f.pdf_size, \
          (SELECT COUNT(*) FROM observations a WHERE a.finding_id = f.id AND a.flag <> 'N') AS abnormal_count \
          FROM findings f JOIN tenants t ON t.id = f.tenant_id WHERE "
    };
}
pub(crate) use finding_columns;

/// The columns of a value search row (`o`, `f`).
macro_rules! observation_columns {
    () => {
        "SELECT o.finding_id, o.position, o.code, o.display, o.value_numeric, o.value_text, \
          o.unit, o.reference_low, o.reference_high, o.flag, f.tenant_id, f.patient_id, f.status, \
          COALESCE(f.released_at, f.created_at) AS at \
          FROM observations o JOIN findings f ON f.id = o.finding_id AND f.tenant_id = o.tenant_id WHERE "
    };
}
pub(crate) use observation_columns;

/// Newest first, or oldest first; ties by ID (and position: stable pages).
macro_rules! newest_first {
    () => {
        "ORDER BY COALESCE(f.released_at, f.created_at) DESC, f.id LIMIT $9 OFFSET $10"
    };
    (values) => {
        "ORDER BY at DESC, o.finding_id, o.position LIMIT $9 OFFSET $10"
    };
}
pub(crate) use newest_first;

macro_rules! oldest_first {
    () => {
        "ORDER BY COALESCE(f.released_at, f.created_at), f.id LIMIT $9 OFFSET $10"
    };
    (values) => {
        "ORDER BY at, o.finding_id, o.position LIMIT $9 OFFSET $10"
    };
}
pub(crate) use oldest_first;

/// One page of findings with their values.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FindingPage {
    pub findings: Vec<FindingDetail>,
    pub has_more: bool,
}

/// One value of a finding, with what its resource needs of the finding.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ObservationRecord {
    pub finding_id: FindingId,
    pub tenant_id: TenantId,
    pub patient_id: PatientId,
    pub status: FindingStatus,
    /// The finding's date: released, else created.
    pub at: UnixMillis,
    /// Its place in the finding (0-based), part of its public ID.
    pub position: i64,
    pub observation: Observation,
}

/// One page of values.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ObservationPage {
    pub observations: Vec<ObservationRecord>,
    pub has_more: bool,
}

/// One page of patient records.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PatientPage {
    pub patients: Vec<PatientRecord>,
    pub has_more: bool,
}

/// What a search of patient records asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientQuery {
    pub id: Option<PatientId>,
    /// A part of the given or family name, any case.
    pub name: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub count: u32,
    pub offset: u32,
}

impl PatientQuery {
    /// Binds `$2..$6` after the fence's `$1`: ID, name pattern, birth
    /// date, limit, offset.
    pub(crate) fn bind(&self, fence: String) -> impl FnOnce(Bound<'static>) -> Bound<'static> {
        let id = self.id.map(|p| p.to_string()).unwrap_or_default();
        let name = self
            .name
            .as_deref()
            .map(contains_pattern)
            .unwrap_or_default();
        let birth = self.birth_date.clone().unwrap_or_default();
        let limit = i64::from(self.count.clamp(1, MAX_PAGE)) + 1;
        let skip = i64::from(self.offset.min(MAX_OFFSET));
        move |q| {
            q.bind(fence)
                .bind(id)
                .bind(name)
                .bind(birth)
                .bind(limit)
                .bind(skip)
        }
    }

    pub(crate) fn page(&self, mut rows: Vec<PatientRecord>) -> PatientPage {
        let size = self.count.clamp(1, MAX_PAGE) as usize;
        let has_more = rows.len() > size;
        rows.truncate(size);
        PatientPage {
            patients: rows,
            has_more,
        }
    }
}

/// The filters of a patient search after its fence.
macro_rules! patient_filters {
    () => {
        " AND ($2 = '' OR p.id = $2) \
          AND ($3 = '' OR LOWER(p.family_name) LIKE $3 ESCAPE '\\' \
               OR LOWER(p.given_name) LIKE $3 ESCAPE '\\') \
          AND ($4 = '' OR p.birth_date = $4) \
          ORDER BY p.family_name, p.given_name, p.id LIMIT $5 OFFSET $6"
    };
}
pub(crate) use patient_filters;

/// `LIKE` pattern for a substring, the wildcards in the typed text escaped.
fn contains_pattern(text: &str) -> String {
    let text = text.trim();
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

/// Reads a value row: the observation's columns plus `o.finding_id,
/// o.position, f.tenant_id, f.patient_id, f.status` and `at`.
pub(crate) fn observation_record(row: &AnyRow) -> Result<ObservationRecord, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(ObservationRecord {
        finding_id: parse(row, "finding_id")?,
        tenant_id: parse(row, "tenant_id")?,
        patient_id: parse(row, "patient_id")?,
        status: FindingStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt("finding status".into()))?,
        at: row.try_get("at")?,
        position: row.try_get("position")?,
        observation: observation(row)?,
    })
}

/// What the gate judges for a value: its finding.
pub(crate) fn observation_ref(o: &ObservationRecord) -> ResourceRef {
    ResourceRef::Finding {
        tenant: o.tenant_id,
        patient: o.patient_id,
        finding: o.finding_id,
        status: o.status,
    }
}

/// Complete admitted findings with their values, each read with the
/// finding's own tenant again; one connection for the page.
pub(crate) async fn with_values(
    conn: &mut AnyConnection,
    findings: Vec<FindingSummary>,
) -> Result<Vec<FindingDetail>, StoreError> {
    let mut details = Vec::with_capacity(findings.len());
    for summary in findings {
        let values = observations(conn, summary.tenant_id, summary.id).await?;
        details.push(FindingDetail {
            summary,
            observations: values,
        });
    }
    Ok(details)
}
