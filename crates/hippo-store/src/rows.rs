//! Mapping rows to domain types. Parse failures mean corrupt data, never
//! user input, and surface as `StoreError::Corrupt`.

use std::str::FromStr;

use hippo_core::finding::{AbnormalFlag, FindingStatus, Observation, ObservationValue};
use hippo_core::patient::parse_birth_date;
use hippo_core::policy::ResourceRef;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::StoreError;
use crate::model::{FindingSummary, PatientRecord};

pub(crate) fn parse<T: FromStr>(row: &AnyRow, column: &str) -> Result<T, StoreError> {
    let raw: String = row.try_get(column)?;
    raw.parse()
        .map_err(|_| StoreError::Corrupt(format!("{column} does not parse")))
}

/// Reads `p.id, p.tenant_id, p.given_name, p.family_name, p.birth_date,
/// p.created_at`.
pub(crate) fn patient(row: &AnyRow) -> Result<PatientRecord, StoreError> {
    let birth: String = row.try_get("birth_date")?;
    Ok(PatientRecord {
        id: parse(row, "id")?,
        tenant_id: parse(row, "tenant_id")?,
        given_name: row.try_get("given_name")?,
        family_name: row.try_get("family_name")?,
        birth_date: parse_birth_date(&birth)
            .map_err(|_| StoreError::Corrupt("birth_date".into()))?,
        created_at: row.try_get("created_at")?,
    })
}

/// What the gate judges for a finding row.
pub(crate) fn finding_ref(f: &FindingSummary) -> ResourceRef {
    ResourceRef::Finding {
        tenant: f.tenant_id,
        patient: f.patient_id,
        finding: f.id,
        status: f.status,
    }
}

/// What the gate judges for a finding's PDF.
pub(crate) fn finding_pdf_ref(f: &FindingSummary) -> ResourceRef {
    ResourceRef::FindingPdf {
        tenant: f.tenant_id,
        patient: f.patient_id,
        finding: f.id,
        status: f.status,
    }
}

/// Reads the columns every finding statement selects: `f.id, f.tenant_id,
/// t.name AS tenant_name, f.patient_id, f.title, f.status, f.created_at,
/// f.released_at, f.retracted_at, f.pdf_size` and `abnormal_count`.
pub(crate) fn finding_summary(row: &AnyRow) -> Result<FindingSummary, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(FindingSummary {
        id: parse(row, "id")?,
        tenant_id: parse(row, "tenant_id")?,
        tenant_name: row.try_get("tenant_name")?,
        patient_id: parse(row, "patient_id")?,
        title: row.try_get("title")?,
        status: FindingStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt("finding status".into()))?,
        created_at: row.try_get("created_at")?,
        released_at: row.try_get("released_at")?,
        retracted_at: row.try_get("retracted_at")?,
        pdf_size: row.try_get("pdf_size")?,
        abnormal_count: row.try_get("abnormal_count")?,
        is_new: false,
    })
}

/// A finding as its patient lists it: the summary plus `is_new`.
pub(crate) fn own_finding_summary(row: &AnyRow) -> Result<FindingSummary, StoreError> {
    let is_new: i64 = row.try_get("is_new")?;
    Ok(FindingSummary {
        is_new: is_new != 0,
        ..finding_summary(row)?
    })
}

pub(crate) fn observation(row: &AnyRow) -> Result<Observation, StoreError> {
    let numeric: Option<f64> = row.try_get("value_numeric")?;
    let text: Option<String> = row.try_get("value_text")?;
    let value = match (numeric, text) {
        (Some(n), None) => ObservationValue::Numeric(n),
        (None, Some(t)) => ObservationValue::Text(t),
        _ => return Err(StoreError::Corrupt("observation value".into())),
    };
    let flag: String = row.try_get("flag")?;
    Ok(Observation {
        code: row.try_get("code")?,
        display: row.try_get("display")?,
        value,
        unit: row.try_get("unit")?,
        reference_low: row.try_get("reference_low")?,
        reference_high: row.try_get("reference_high")?,
        flag: AbnormalFlag::parse(&flag).ok_or_else(|| StoreError::Corrupt("flag".into()))?,
    })
}
