//! The FHIR routes' handlers: parse, pick the caller's scope, map, answer.
//! Every read goes through the caller's scoped handle, whose answer is
//! audited before it is returned; a foreign ID is the store's "not found",
//! like a missing one.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hippo_core::{FindingId, MessageId, PatientId};
use hippo_store::search::{FindingPage, ObservationPage, PatientPage};
use hippo_store::{CommunicationPage, MessageQuery};
use serde::Serialize;
use serde_json::Value;

use super::params::{self, Search, SearchKind};
use super::resources::{Bundle, BundleEntry, BundleLink, BundleSearch, Meta};
use super::{BASE_PATH, FHIR_JSON, capability, mapping};
use crate::error::{Failure, FhirError};
use crate::extract::Authorized;
use crate::scope::Scope;
use crate::state::AppState;
use crate::views::{HISTORY_LIMIT, pdf_response};

/// A FHIR JSON answer.
fn fhir_json(value: &impl Serialize) -> Result<Response, FhirError> {
    let body = serde_json::to_vec(value).map_err(Failure::internal)?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))],
        body,
    )
        .into_response())
}

fn to_value(value: &impl Serialize) -> Result<Value, FhirError> {
    Ok(serde_json::to_value(value).map_err(Failure::internal)?)
}

/// The absolute base of links and full URLs: the configured public URL's
/// origin, else this request's host.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let configured = state
        .config()
        .retrieval
        .public_url
        .as_deref()
        .and_then(origin_of);
    let origin = configured.unwrap_or_else(|| {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .unwrap_or("localhost");
        format!("http://{host}")
    });
    format!("{origin}{BASE_PATH}")
}

/// `scheme://authority` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

/// `GET /fhir/r4/metadata` (anonymous).
pub async fn metadata() -> Result<Response, FhirError> {
    fhir_json(&capability::statement())
}

fn parse_search(kind: SearchKind, raw: Option<String>) -> Result<Search, FhirError> {
    params::parse(kind, raw.as_deref()).map_err(|e| FhirError(Failure::BadRequest(e.0)))
}

/// A searchset bundle with self, next and previous links; no `total`.
fn bundle(
    base: &str,
    search: &Search,
    matches: Vec<(String, Value)>,
    included: Vec<(String, Value)>,
    has_more: bool,
) -> Bundle {
    let link = |offset: u32| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &search.kept {
            query.append_pair(name, value);
        }
        query.append_pair("_count", &search.count.to_string());
        query.append_pair("_offset", &offset.to_string());
        format!("{base}/{}?{}", search.kind.resource_type(), query.finish())
    };
    let mut links = vec![BundleLink {
        relation: "self",
        url: link(search.offset),
    }];
    // The next page, unless it lies beyond what a search may skip.
    if has_more && search.offset + search.count <= hippo_store::search::MAX_OFFSET {
        links.push(BundleLink {
            relation: "next",
            url: link(search.offset + search.count),
        });
    }
    if search.offset > 0 {
        links.push(BundleLink {
            relation: "previous",
            url: link(search.offset.saturating_sub(search.count)),
        });
    }
    let entry = |mode| {
        move |(path, resource): (String, Value)| BundleEntry {
            full_url: format!("{base}/{path}"),
            resource,
            search: BundleSearch { mode },
        }
    };
    let mut entries: Vec<BundleEntry> = matches.into_iter().map(entry("match")).collect();
    entries.extend(included.into_iter().map(entry("include")));
    Bundle {
        id: uuid::Uuid::new_v4().to_string(),
        meta: Meta {
            last_updated: Some(hippo_core::time_util::rfc3339(
                hippo_core::time_util::now_millis(),
            )),
        },
        type_: "searchset",
        link: links,
        entry: entries,
    }
}

fn entry_of<T: Serialize>(
    kind: &str,
    id: &str,
    resource: &T,
) -> Result<(String, Value), FhirError> {
    Ok((format!("{kind}/{id}"), to_value(resource)?))
}

// ---- Patient

pub async fn patient_read(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Response, FhirError> {
    let id: PatientId = caller.parse_id(&raw).await?;
    let record = match &caller.scope {
        Scope::Staff(s) => s.patient(id).await.map_err(Failure::from)?,
        Scope::Patient(p) => p.patient(id).await.map_err(Failure::from)?,
        Scope::Operator(_) => return Err(FhirError(Failure::NotFound)),
    };
    fhir_json(&mapping::patient(&record))
}

pub async fn patient_search(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Authorized,
    RawQuery(raw): RawQuery,
) -> Result<Response, FhirError> {
    let search = parse_search(SearchKind::Patient, raw)?;
    let page = match &caller.scope {
        Scope::Staff(s) => s.fhir_search_patients(&search.patients).await,
        Scope::Patient(p) => p.search_patients(&search.patients).await,
        Scope::Operator(_) => return Err(FhirError(Failure::Forbidden)),
    }
    .map_err(Failure::from)?;
    let PatientPage {
        patients, has_more, ..
    } = &*page;
    let matches = patients
        .iter()
        .map(|p| entry_of("Patient", &p.id.to_string(), &mapping::patient(p)))
        .collect::<Result<_, _>>()?;
    let base = base_url(&state, &headers);
    fhir_json(&bundle(&base, &search, matches, Vec::new(), *has_more))
}

// ---- DiagnosticReport, DocumentReference, Binary

pub async fn report_read(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Response, FhirError> {
    let id: FindingId = caller.parse_id(&raw).await?;
    let detail = caller.finding(id).await?;
    let base = base_url(&state, &headers);
    fhir_json(&mapping::diagnostic_report(&detail, &base))
}

async fn finding_page(
    caller: &Authorized,
    search: &Search,
) -> Result<hippo_store::Admitted<FindingPage>, FhirError> {
    Ok(match &caller.scope {
        Scope::Staff(s) => s.search_findings(&search.findings).await,
        Scope::Patient(p) => p.search_findings(&search.findings).await,
        Scope::Operator(_) => return Err(FhirError(Failure::Forbidden)),
    }
    .map_err(Failure::from)?)
}

pub async fn report_search(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Authorized,
    RawQuery(raw): RawQuery,
) -> Result<Response, FhirError> {
    let search = parse_search(SearchKind::DiagnosticReport, raw)?;
    let page = finding_page(&caller, &search).await?;
    let base = base_url(&state, &headers);
    let mut matches = Vec::with_capacity(page.findings.len());
    let mut included = Vec::new();
    for finding in &page.findings {
        let report = mapping::diagnostic_report(finding, &base);
        matches.push(entry_of("DiagnosticReport", &report.id, &report)?);
        // Only the values of the findings matched (and admitted) here:
        // nothing outside the caller's compartment can be included.
        if search.include_results {
            for value in mapping::observations_of(finding) {
                included.push(entry_of("Observation", &value.id, &value)?);
            }
        }
    }
    fhir_json(&bundle(&base, &search, matches, included, page.has_more))
}

pub async fn document_read(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Response, FhirError> {
    let id: FindingId = caller.parse_id(&raw).await?;
    let detail = caller.finding(id).await?;
    let base = base_url(&state, &headers);
    fhir_json(&mapping::document_reference(&detail.summary, &base))
}

pub async fn document_search(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Authorized,
    RawQuery(raw): RawQuery,
) -> Result<Response, FhirError> {
    let search = parse_search(SearchKind::DocumentReference, raw)?;
    let page = finding_page(&caller, &search).await?;
    let base = base_url(&state, &headers);
    let matches = page
        .findings
        .iter()
        .map(|f| {
            let document = mapping::document_reference(&f.summary, &base);
            entry_of("DocumentReference", &document.id, &document)
        })
        .collect::<Result<_, _>>()?;
    fhir_json(&bundle(&base, &search, matches, Vec::new(), page.has_more))
}

/// Whether the client asks for the PDF itself rather than FHIR JSON.
fn wants_pdf(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/pdf"))
}

pub async fn binary_read(
    headers: HeaderMap,
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Response, FhirError> {
    let id: FindingId = caller.parse_id(&raw).await?;
    let pdf = caller.finding_pdf(id).await?;
    if wants_pdf(&headers) {
        return Ok(pdf_response(id, pdf.into_bytes()));
    }
    fhir_json(&mapping::binary(&pdf.summary, &pdf.bytes))
}

// ---- Observation

pub async fn observation_read(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Response, FhirError> {
    let Some((finding, position)) = mapping::parse_observation_id(&raw) else {
        // Malformed: audited and answered like an unknown ID.
        caller.parse_id::<FindingId>(&raw).await?;
        return Err(FhirError(Failure::NotFound));
    };
    let detail = caller.finding(finding).await?;
    let value = mapping::observation_of(&detail, position).ok_or(Failure::NotFound)?;
    fhir_json(&value)
}

pub async fn observation_search(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Authorized,
    RawQuery(raw): RawQuery,
) -> Result<Response, FhirError> {
    let search = parse_search(SearchKind::Observation, raw)?;
    let page = match &caller.scope {
        Scope::Staff(s) => s.search_observations(&search.findings).await,
        Scope::Patient(p) => p.search_observations(&search.findings).await,
        Scope::Operator(_) => return Err(FhirError(Failure::Forbidden)),
    }
    .map_err(Failure::from)?;
    let ObservationPage {
        observations,
        has_more,
        ..
    } = &*page;
    let matches = observations
        .iter()
        .map(|o| {
            let value = mapping::observation(o);
            entry_of("Observation", &value.id, &value)
        })
        .collect::<Result<_, _>>()?;
    let base = base_url(&state, &headers);
    fhir_json(&bundle(&base, &search, matches, Vec::new(), *has_more))
}

// ---- Communication

/// One message, read as it stands: a FHIR client's read marks nothing
/// read for the patient or the facility.
pub async fn communication_read(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Response, FhirError> {
    let id: MessageId = caller.parse_id(&raw).await?;
    let record = match &caller.scope {
        Scope::Staff(s) => s.communication(id).await,
        Scope::Patient(p) => p.communication(id).await,
        Scope::Operator(_) => return Err(FhirError(Failure::NotFound)),
    }
    .map_err(Failure::from)?;
    let base = base_url(&state, &headers);
    fhir_json(&mapping::communication(&record, &base))
}

pub async fn communication_search(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Authorized,
    RawQuery(raw): RawQuery,
) -> Result<Response, FhirError> {
    let search = parse_search(SearchKind::Communication, raw)?;
    let f = &search.findings;
    let query = MessageQuery {
        patient: f.patient,
        from: f.from,
        until: f.until,
        newest_first: f.newest_first,
        count: f.count,
        offset: f.offset,
    };
    let page = match &caller.scope {
        Scope::Staff(s) => s.communications(&query).await,
        Scope::Patient(p) => p.communications(&query).await,
        Scope::Operator(_) => return Err(FhirError(Failure::Forbidden)),
    }
    .map_err(Failure::from)?;
    let CommunicationPage {
        communications,
        has_more,
        ..
    } = &*page;
    let base = base_url(&state, &headers);
    let matches = communications
        .iter()
        .map(|c| {
            let message = mapping::communication(c, &base);
            entry_of("Communication", &message.id, &message)
        })
        .collect::<Result<_, _>>()?;
    fhir_json(&bundle(&base, &search, matches, Vec::new(), *has_more))
}

// ---- AuditEvent

/// A patient's own access history, newest first, paged within the
/// history's bound.
pub async fn audit_search(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Authorized,
    RawQuery(raw): RawQuery,
) -> Result<Response, FhirError> {
    let search = parse_search(SearchKind::AuditEvent, raw)?;
    let history = caller.patient()?.access_history(HISTORY_LIMIT).await?;
    let mut rows: Vec<_> = history
        .iter()
        .filter(|e| search.patient.is_none_or(|p| e.patient_id == p))
        .skip(search.offset as usize)
        .take(search.count as usize + 1)
        .collect();
    let has_more = rows.len() > search.count as usize;
    rows.truncate(search.count as usize);
    let matches = rows
        .into_iter()
        .map(|e| entry_of("AuditEvent", &e.id, &mapping::audit_event(e)))
        .collect::<Result<_, _>>()?;
    let base = base_url(&state, &headers);
    fhir_json(&bundle(&base, &search, matches, Vec::new(), has_more))
}
