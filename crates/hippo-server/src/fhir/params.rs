//! Strict parsing of FHIR search parameters: every parameter a search
//! does not support, every modifier, chain, `_revinclude` and `_has` is
//! refused with 400 rather than ignored, so that a client never takes a
//! wider answer for a narrower one. Dates without a zone are UTC.

use hippo_core::PatientId;
use hippo_core::time_util::UnixMillis;
use hippo_store::search::{MAX_OFFSET, MAX_PAGE};
use hippo_store::{FindingQuery, PatientQuery};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use super::mapping::{LOINC, finding_status};

/// The page size when the client names none.
pub const DEFAULT_COUNT: u32 = 20;

/// Which search: decides the parameters it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKind {
    Patient,
    DiagnosticReport,
    Observation,
    DocumentReference,
    Communication,
    AuditEvent,
}

impl SearchKind {
    pub fn resource_type(self) -> &'static str {
        match self {
            Self::Patient => "Patient",
            Self::DiagnosticReport => "DiagnosticReport",
            Self::Observation => "Observation",
            Self::DocumentReference => "DocumentReference",
            Self::Communication => "Communication",
            Self::AuditEvent => "AuditEvent",
        }
    }

    /// The search parameters (besides `_count`, `_offset`, `_format`)
    /// this search supports; also what the CapabilityStatement lists.
    pub fn parameters(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Patient => &[("_id", "token"), ("name", "string"), ("birthdate", "date")],
            Self::DiagnosticReport => &[
                ("patient", "reference"),
                ("subject", "reference"),
                ("code", "token"),
                ("date", "date"),
                ("status", "token"),
            ],
            Self::Observation => &[
                ("patient", "reference"),
                ("subject", "reference"),
                ("code", "token"),
                ("date", "date"),
                ("status", "token"),
            ],
            Self::DocumentReference => &[
                ("patient", "reference"),
                ("subject", "reference"),
                ("date", "date"),
                ("status", "token"),
            ],
            Self::Communication => &[
                ("patient", "reference"),
                ("subject", "reference"),
                ("sent", "date"),
            ],
            Self::AuditEvent => &[("patient", "reference")],
        }
    }

    /// The date parameter `_sort` sorts by, where a search sorts.
    pub fn sort_key(self) -> Option<&'static str> {
        match self {
            Self::DiagnosticReport | Self::Observation | Self::DocumentReference => Some("date"),
            Self::Communication => Some("sent"),
            Self::Patient | Self::AuditEvent => None,
        }
    }
}

/// A search parameter refused, with the reason for the OperationOutcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadParameter(pub String);

fn bad(message: impl Into<String>) -> BadParameter {
    BadParameter(message.into())
}

/// A parsed search: what the store is asked, and what paging needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub kind: SearchKind,
    pub findings: FindingQuery,
    pub patients: PatientQuery,
    /// A patient filter on the AuditEvent search.
    pub patient: Option<PatientId>,
    /// `_include=DiagnosticReport:result`.
    pub include_results: bool,
    pub count: u32,
    pub offset: u32,
    /// The accepted parameters except paging, in the order sent: the
    /// `self` and `next` links repeat them.
    pub kept: Vec<(String, String)>,
}

/// A patient reference as a search value: `ID`, `Patient/ID` or an
/// absolute URL ending in it. A malformed one is a patient that does not
/// exist: it matches nothing (and reads like any unknown ID).
fn patient_reference(value: &str) -> PatientId {
    let id = value.rsplit_once("Patient/").map_or(value, |(_, id)| id);
    // A fresh random ID matches no row: the answer is an empty page,
    // exactly like that of any other unknown or foreign patient.
    id.parse().unwrap_or_else(|_| PatientId::random())
}

fn count(value: &str) -> Result<u32, BadParameter> {
    match value.parse::<u32>() {
        Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        _ => Err(bad(format!("_count must be between 1 and {MAX_PAGE}"))),
    }
}

fn offset(value: &str) -> Result<u32, BadParameter> {
    match value.parse::<u32>() {
        Ok(n) if n <= MAX_OFFSET => Ok(n),
        _ => Err(bad(format!("_offset must be between 0 and {MAX_OFFSET}"))),
    }
}

/// A token search value: `code`, `|code` or `http://loinc.org|code`.
fn code_token(value: &str) -> Result<String, BadParameter> {
    let code = match value.split_once('|') {
        None => value,
        Some(("" | LOINC, code)) => code,
        Some((system, _)) => {
            return Err(bad(format!(
                "code: only the system {LOINC} is supported, not {system:?}"
            )));
        }
    };
    if code.is_empty() || code.len() > 64 || code.contains(',') {
        return Err(bad("code: one code of at most 64 characters"));
    }
    Ok(code.to_owned())
}

/// Parse `raw` (a URL query) for a search of `kind`.
pub fn parse(kind: SearchKind, raw: Option<&str>) -> Result<Search, BadParameter> {
    let mut search = Search {
        kind,
        findings: FindingQuery::default(),
        patients: PatientQuery::default(),
        patient: None,
        include_results: false,
        count: DEFAULT_COUNT,
        offset: 0,
        kept: Vec::new(),
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.len() > 32 {
        return Err(bad("too many search parameters"));
    }
    let mut seen_patient = false;
    for (name, value) in pairs {
        if name == "_revinclude" || name == "_has" || name.starts_with("_has:") {
            return Err(bad(format!("{name} is not supported")));
        }
        if name.contains('.') {
            return Err(bad(format!("chained parameters are not supported: {name}")));
        }
        if name.contains(':') {
            return Err(bad(format!("modifiers are not supported: {name}")));
        }
        let supported = kind.parameters().iter().any(|(p, _)| *p == name);
        let keep = match name.as_str() {
            "_count" => {
                search.count = count(&value)?;
                false
            }
            "_offset" => {
                search.offset = offset(&value)?;
                false
            }
            "_format" => {
                if !matches!(
                    value.as_str(),
                    "json" | "application/json" | "application/fhir+json"
                ) {
                    return Err(bad("_format: only JSON is served"));
                }
                false
            }
            "_sort" if kind.sort_key().is_some() => {
                let key = kind.sort_key().unwrap_or("date");
                search.findings.newest_first = match value.strip_prefix('-') {
                    Some(k) if k == key => true,
                    None if value == key => false,
                    _ => return Err(bad(format!("_sort: only {key} and -{key} are supported"))),
                };
                true
            }
            "_include" if kind == SearchKind::DiagnosticReport => {
                if value != "DiagnosticReport:result" {
                    return Err(bad("_include: only DiagnosticReport:result is supported"));
                }
                search.include_results = true;
                true
            }
            _ if !supported => {
                return Err(bad(format!(
                    "unknown or unsupported search parameter for {}: {name}",
                    kind.resource_type()
                )));
            }
            "patient" | "subject" => {
                if seen_patient {
                    return Err(bad("one patient (or subject) per search"));
                }
                seen_patient = true;
                if value.contains(',') {
                    return Err(bad("patient: one patient per search"));
                }
                let patient = patient_reference(&value);
                search.findings.patient = Some(patient);
                search.patient = Some(patient);
                true
            }
            "code" => {
                search.findings.code = Some(code_token(&value)?);
                true
            }
            "date" | "sent" => {
                apply_date(&mut search.findings, &value)?;
                true
            }
            "status" => {
                let mut statuses = Vec::new();
                for s in value.split(',') {
                    let status = finding_status(s).ok_or_else(|| {
                        bad(format!(
                            "status: unknown value {s:?} (final, entered-in-error, preliminary)"
                        ))
                    })?;
                    if !statuses.contains(&status) {
                        statuses.push(status);
                    }
                }
                search.findings.statuses = statuses;
                true
            }
            "_id" => {
                search.patients.id = Some(patient_reference(&value));
                true
            }
            "name" => {
                if value.len() > 100 {
                    return Err(bad("name: at most 100 characters"));
                }
                search.patients.name = Some(value.clone());
                true
            }
            "birthdate" => {
                let date = parse_day(&value)
                    .ok_or_else(|| bad("birthdate: a date YYYY-MM-DD (no prefix)"))?;
                search.patients.birth_date = Some(hippo_core::patient::format_date(date));
                true
            }
            _ => return Err(bad(format!("unsupported search parameter: {name}"))),
        };
        if keep {
            search.kept.push((name, value));
        }
    }
    search.findings.count = search.count;
    search.findings.offset = search.offset;
    search.patients.count = search.count;
    search.patients.offset = search.offset;
    Ok(search)
}

fn parse_day(value: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value, &format).ok()
}

fn millis(t: OffsetDateTime) -> UnixMillis {
    (t.unix_timestamp_nanos() / 1_000_000) as UnixMillis
}

fn midnight(date: Date) -> UnixMillis {
    millis(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc())
}

/// The half-open window `[start, end)` a FHIR date or dateTime value
/// covers at its precision (year, month, day, or a point in time).
pub fn date_window(value: &str) -> Option<(UnixMillis, UnixMillis)> {
    let year = |s: &str| s.parse::<i32>().ok().filter(|y| (1..=9999).contains(y));
    match value.len() {
        4 => {
            let y = year(value)?;
            let start = Date::from_calendar_date(y, Month::January, 1).ok()?;
            let end = Date::from_calendar_date(y + 1, Month::January, 1).ok()?;
            Some((midnight(start), midnight(end)))
        }
        7 => {
            let (y, m) = value.split_once('-')?;
            let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
            let start = Date::from_calendar_date(year(y)?, month, 1).ok()?;
            let next = if month == Month::December {
                Date::from_calendar_date(start.year() + 1, Month::January, 1).ok()?
            } else {
                Date::from_calendar_date(start.year(), month.next(), 1).ok()?
            };
            Some((midnight(start), midnight(next)))
        }
        10 => {
            let day = parse_day(value)?;
            Some((midnight(day), midnight(day.next_day()?)))
        }
        _ => {
            let at = hippo_core::time_util::parse_rfc3339(value)?;
            // A point in time at second precision covers its second.
            Some((at, at + 1000))
        }
    }
}

/// Narrow the query's window by one `date` parameter with its prefix.
fn apply_date(query: &mut FindingQuery, value: &str) -> Result<(), BadParameter> {
    let (prefix, rest) = match value.get(..2) {
        Some(p @ ("eq" | "ge" | "gt" | "le" | "lt")) => (p, &value[2..]),
        Some("ne" | "sa" | "eb" | "ap") => {
            return Err(bad("date: prefixes eq, ge, gt, le and lt are supported"));
        }
        _ => ("eq", value),
    };
    let (start, end) = date_window(rest)
        .ok_or_else(|| bad("date: YYYY, YYYY-MM, YYYY-MM-DD or an RFC 3339 time"))?;
    match prefix {
        "eq" => {
            query.from = query.from.max(start);
            query.until = query.until.min(end);
        }
        "ge" => query.from = query.from.max(start),
        "gt" => query.from = query.from.max(end),
        "le" => query.until = query.until.min(end),
        _ => query.until = query.until.min(start),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_prefixes_narrow_the_window() {
        let s = parse(
            SearchKind::DiagnosticReport,
            Some("date=ge2024-01-01&date=lt2024-02"),
        )
        .unwrap();
        assert_eq!(s.findings.from, date_window("2024-01-01").unwrap().0);
        assert_eq!(s.findings.until, date_window("2024-02").unwrap().0);
        let gt = parse(SearchKind::Observation, Some("date=gt2024")).unwrap();
        assert_eq!(gt.findings.from, date_window("2025").unwrap().0);
        let le = parse(SearchKind::Observation, Some("date=le2024-12-31")).unwrap();
        assert_eq!(le.findings.until, date_window("2025-01-01").unwrap().0);
    }

    #[test]
    fn unsupported_parameters_are_refused() {
        for query in [
            "foo=1",
            "subject:Patient.name=Max",
            "patient.identifier=1",
            "_revinclude=Observation:derived-from",
            "_has:Observation:patient:code=1",
            "code:text=x",
            "_count=0",
            "_count=1000",
            "_sort=status",
            "_include=DiagnosticReport:subject",
            "date=ne2024",
            "date=2024-13",
            "status=amended",
            "code=http://snomed.info/sct|1",
        ] {
            assert!(
                parse(SearchKind::DiagnosticReport, Some(query)).is_err(),
                "{query}"
            );
        }
        assert!(parse(SearchKind::Patient, Some("code=1")).is_err());
        assert!(parse(SearchKind::AuditEvent, Some("_sort=-date")).is_err());
        for query in [
            "date=2024",
            "_sort=-date",
            "code=1",
            "status=final",
            "_include=x",
        ] {
            assert!(
                parse(SearchKind::Communication, Some(query)).is_err(),
                "{query}"
            );
        }
    }

    #[test]
    fn messages_are_searched_by_sent_time() {
        let s = parse(
            SearchKind::Communication,
            Some("sent=ge2024-01-01&_sort=sent&patient=Patient/x"),
        )
        .unwrap();
        assert_eq!(s.findings.from, date_window("2024-01-01").unwrap().0);
        assert!(!s.findings.newest_first);
        assert!(s.findings.patient.is_some());
    }

    #[test]
    fn a_malformed_patient_matches_nobody() {
        let s = parse(SearchKind::Observation, Some("patient=Patient/1")).unwrap();
        assert!(s.findings.patient.is_some());
    }
}
