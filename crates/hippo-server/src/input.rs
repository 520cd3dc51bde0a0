//! Request input that the JSON API and the web pages both parse: the
//! forensic query parameters and a new patient's details.

use axum::extract::Query;
use hippo_core::forensic_purpose::{ForensicPurpose, PURPOSE_REQUIRED};
use hippo_core::patient::{NewPatient, PatientInput};
use hippo_core::time_util::parse_rfc3339;
use hippo_store::ForensicFilter;
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::IntoParams;

use crate::error::Failure;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForensicQuery {
    /// RFC 3339 start of the window.
    pub from: Option<String>,
    /// RFC 3339 end of the window.
    pub to: Option<String>,
    pub actor: Option<String>,
    pub patient: Option<String>,
    pub tenant: Option<String>,
    /// Comma-separated actions, e.g. `finding_read,finding_pdf_download`.
    pub actions: Option<String>,
    /// Comma-separated routes, e.g. `GET /api/v1/findings/{id}/pdf`.
    pub routes: Option<String>,
    /// Comma-separated build versions.
    pub builds: Option<String>,
    pub outcome: Option<String>,
    /// Records per page (accesses; default 1,000, at most 100,000).
    pub limit: Option<i64>,
    /// The previous page's `next` cursor.
    pub after: Option<String>,
    /// Purpose binding: the incident this query serves (its ID) ...
    pub incident: Option<String>,
    /// ... or the reason (at least 10 characters). One of the two is
    /// required and is kept in the query's audit record.
    pub reason: Option<String>,
}

fn list(value: &Option<String>) -> Vec<String> {
    value
        .as_deref()
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn time(field: &str, value: &Option<String>) -> Result<Option<i64>, Failure> {
    value
        .as_deref()
        .map(|v| {
            parse_rfc3339(v)
                .ok_or_else(|| Failure::Invalid(format!("{field}: not an RFC 3339 time")))
        })
        .transpose()
}

impl ForensicQuery {
    /// The purpose the query serves; none at all is a bad request (400)
    /// that says what to add, a thin one invalid input (422).
    pub fn purpose(&self) -> Result<ForensicPurpose, Failure> {
        let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        if !given(&self.incident) && !given(&self.reason) {
            return Err(Failure::BadRequest(PURPOSE_REQUIRED.into()));
        }
        Ok(ForensicPurpose::parse(
            self.incident.as_deref(),
            self.reason.as_deref(),
        )?)
    }

    pub fn filter(&self) -> Result<ForensicFilter, Failure> {
        Ok(ForensicFilter {
            from: time("from", &self.from)?,
            to: time("to", &self.to)?,
            actor: self.actor.clone(),
            patient: self.patient.clone(),
            tenant: self.tenant.clone(),
            actions: list(&self.actions),
            routes: list(&self.routes),
            builds: list(&self.builds),
            outcome: self.outcome.clone(),
            limit: self.limit,
            after: self.after.clone(),
        })
    }
}

pub(crate) fn query(
    q: Result<Query<ForensicQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ForensicQuery, Failure> {
    q.map(|Query(q)| q)
        .map_err(|e| Failure::BadRequest(e.body_text()))
}

pub fn parse_new_patient(input: PatientInput) -> Result<NewPatient, hippo_core::DomainError> {
    NewPatient::parse(input, OffsetDateTime::now_utc().date())
}
