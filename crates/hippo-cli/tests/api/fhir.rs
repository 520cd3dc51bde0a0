//! The FHIR R4 facade (issue 13): a patient's compartment and nothing
//! else, foreign IDs like nonexistent ones, searches that never count or
//! include foreign data, strict parameters, OperationOutcome for every
//! failure, and many patients searching at once. The conformance tests
//! (`interop`) are in `fhir/interop.rs`.

mod communication;
mod interop;

use std::collections::BTreeSet;

use futures_util::future::join_all;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::helpers::{PDF, Session, TestApp, spawn_app, test_app, upload_form};

const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

async fn fhir_get(app: &TestApp, path_or_url: &str, token: Option<&str>) -> Answer {
    let url = if path_or_url.starts_with("http") {
        path_or_url.to_owned()
    } else {
        format!("{}/fhir/r4/{path_or_url}", app.url)
    };
    let mut request = app.client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

async fn ok(app: &TestApp, path: &str, session: &Session) -> Value {
    let answer = fhir_get(app, path, Some(&session.token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
    assert_eq!(answer.headers["content-type"], FHIR_JSON, "{path}");
    answer.body
}

/// The resources of a searchset's entries with `mode`.
fn entries<'a>(bundle: &'a Value, mode: &str) -> Vec<&'a Value> {
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "searchset");
    assert!(bundle.get("total").is_none(), "no total is given");
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["search"]["mode"] == mode)
        .map(|e| &e["resource"])
        .collect()
}

fn ids(resources: &[&Value]) -> BTreeSet<String> {
    resources
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn subjects(resources: &[&Value]) -> BTreeSet<String> {
    resources
        .iter()
        .map(|r| r["subject"]["reference"].as_str().unwrap().to_owned())
        .collect()
}

/// Every page of a search, following `next` links: the matches in order.
async fn all_pages(app: &TestApp, first: &str, session: &Session) -> Vec<Value> {
    let mut found = Vec::new();
    let mut page = ok(app, first, session).await;
    for _ in 0..100 {
        found.extend(entries(&page, "match").into_iter().cloned());
        let next = page["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
            .map(|l| l["url"].as_str().unwrap().to_owned());
        match next {
            Some(url) => page = ok(app, &url, session).await,
            None => return found,
        }
    }
    panic!("more than 100 pages");
}

fn expect_outcome(answer: &Answer, status: StatusCode, issue: &str, what: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.body);
    assert_eq!(answer.headers["content-type"], FHIR_JSON, "{what}");
    assert_eq!(answer.body["resourceType"], "OperationOutcome", "{what}");
    assert_eq!(answer.body["issue"][0]["severity"], "error", "{what}");
    assert_eq!(answer.body["issue"][0]["code"], issue, "{what}");
}

#[tokio::test]
async fn fhir_patient_sees_own_reports_and_observations_only() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let own: BTreeSet<String> = max.user.finding_ids.iter().map(|f| f.to_string()).collect();
    let own_patient = format!("Patient/{}", max.user.patient_ids[0]);

    let reports = all_pages(&app, "DiagnosticReport?_count=3", &max).await;
    let reports: Vec<&Value> = reports.iter().collect();
    assert_eq!(ids(&reports), own, "exactly Max's released findings");
    assert_eq!(subjects(&reports), BTreeSet::from([own_patient.clone()]));
    assert!(reports.iter().all(|r| r["status"] == "final"));

    // Every value of his findings, as the JSON API shows them.
    let mut expected_values = 0;
    for id in &own {
        let finding = app.get_json(&format!("/api/v1/findings/{id}"), &max).await;
        expected_values += finding["observations"].as_array().unwrap().len();
    }
    let values = all_pages(&app, "Observation?_count=50", &max).await;
    let values: Vec<&Value> = values.iter().collect();
    assert_eq!(values.len(), expected_values);
    assert_eq!(ids(&values).len(), expected_values, "IDs are unique");
    assert_eq!(subjects(&values), BTreeSet::from([own_patient.clone()]));

    // One read of each kind, consistent with the searches.
    let first = own.iter().next().unwrap();
    let report = ok(&app, &format!("DiagnosticReport/{first}"), &max).await;
    assert_eq!(report["subject"]["reference"], own_patient);
    for result in report["result"].as_array().unwrap() {
        let path = result["reference"].as_str().unwrap();
        let value = ok(&app, path, &max).await;
        assert_eq!(value["resourceType"], "Observation");
        assert_eq!(value["subject"]["reference"], own_patient);
    }
    let patient = ok(&app, &own_patient, &max).await;
    assert_eq!(patient["name"][0]["family"], "Schmidt");
    assert_eq!(patient["birthDate"], "1978-03-02");
    let patients = ok(&app, "Patient", &max).await;
    assert_eq!(
        ids(&entries(&patients, "match")),
        BTreeSet::from([max.user.patient_ids[0].to_string()])
    );
    let document = ok(&app, &format!("DocumentReference/{first}"), &max).await;
    assert_eq!(
        document["content"][0]["attachment"]["url"],
        format!("{}/fhir/r4/Binary/{first}", app.url)
    );
    let pdf = app
        .client
        .get(format!("{}/fhir/r4/Binary/{first}", app.url))
        .bearer_auth(&max.token)
        .header("accept", "application/pdf")
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    let binary = ok(&app, &format!("Binary/{first}"), &max).await;
    assert_eq!(binary["contentType"], "application/pdf");
    assert!(binary["data"].as_str().unwrap().starts_with("JVBER")); // "%PDF"

    // His own access history names his reads, and only his record.
    let history = ok(&app, "AuditEvent?_count=100", &max).await;
    let events = entries(&history, "match");
    assert!(!events.is_empty());
    for event in &events {
        assert_eq!(event["entity"][0]["what"]["reference"], own_patient);
    }
}

/// Every header but those that differ per request.
fn stable_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut kept: Vec<_> = headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id" | "content-length"))
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    kept.sort();
    kept
}

#[tokio::test]
async fn fhir_foreign_ids_read_exactly_like_nonexistent_ones() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    let finding = max.finding_ids[0];
    let patient = max.patient_ids[0];
    let outsiders = [
        app.login("sophie.wagner").await, // patient, same tenant
        app.login("leon.hoffmann").await, // patient, other tenant
        app.login("j.petersen").await,    // clinician, other tenant
    ];
    let paths = |finding: String, patient: String| {
        vec![
            format!("DiagnosticReport/{finding}"),
            format!("Observation/{finding}-0"),
            format!("DocumentReference/{finding}"),
            format!("Binary/{finding}"),
            format!("Patient/{patient}"),
        ]
    };
    let mut checked = 0;
    for caller in &outsiders {
        let foreign = paths(finding.to_string(), patient.to_string());
        let missing = paths(
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().to_string(),
        );
        for (foreign, missing) in foreign.iter().zip(&missing) {
            let a = fhir_get(&app, foreign, Some(&caller.token)).await;
            let b = fhir_get(&app, missing, Some(&caller.token)).await;
            let who = format!("{foreign} as {}", caller.user.email);
            expect_outcome(&a, StatusCode::NOT_FOUND, "not-found", &who);
            assert_eq!(a.status, b.status, "{who}");
            assert_eq!(a.body, b.body, "{who}");
            assert_eq!(
                stable_headers(&a.headers),
                stable_headers(&b.headers),
                "{who}"
            );
            checked += 1;
        }
        // A search naming the foreign patient reads like one naming nobody.
        for search in ["DiagnosticReport", "Observation", "DocumentReference"] {
            let a = fhir_get(
                &app,
                &format!("{search}?patient={patient}"),
                Some(&caller.token),
            )
            .await;
            let b = fhir_get(
                &app,
                &format!("{search}?patient={}", uuid::Uuid::new_v4()),
                Some(&caller.token),
            )
            .await;
            assert_eq!(a.status, StatusCode::OK);
            assert!(
                entries(&a.body, "match").is_empty(),
                "{search} as {}",
                caller.user.email
            );
            assert!(entries(&b.body, "match").is_empty());
        }
    }
    assert_eq!(checked, 15);
}

/// A fresh patient of the first tenant with five findings: four released
/// on known dates (codes as named), one draft.
struct Dated {
    patient: String,
    /// Released, oldest first: (id, code of its first value).
    released: Vec<String>,
    draft: String,
}

async fn dated_findings(app: &TestApp, keller: &Session) -> Dated {
    let created = app
        .post_json(
            "/api/v1/patients",
            keller,
            &json!({"given_name": "Fenja", "family_name": "Fhirtest", "birth_date": "1990-04-04"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let patient = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dates = [
        "2024-01-15T09:00:00Z",
        "2024-02-10T09:00:00Z",
        "2024-03-05T09:00:00Z",
        "2024-03-20T09:00:00Z",
    ];
    let codes = ["718-7", "2345-7", "718-7", "2093-3"];
    let mut released = Vec::new();
    for (date, code) in dates.iter().zip(codes) {
        let metadata = json!({"title": format!("Befund {date}"), "observations": [
            {"code": code, "display": "Wert", "value": 5.0, "unit": "mg/dl",
             "reference_low": 1.0, "reference_high": 10.0}
        ]});
        let uploaded = app
            .upload(&patient, keller, upload_form(&metadata, PDF))
            .await;
        assert_eq!(uploaded.status(), StatusCode::CREATED);
        let id = uploaded.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let release = app
            .post_empty(&format!("/api/v1/findings/{id}/release"), keller)
            .await;
        assert_eq!(release.status(), StatusCode::OK);
        let at = hippo_core::time_util::parse_rfc3339(date).unwrap();
        sqlx::query("UPDATE findings SET released_at = $1, created_at = $1 WHERE id = $2")
            .bind(at)
            .bind(&id)
            .execute(&app.db)
            .await
            .unwrap();
        released.push(id);
    }
    let metadata = json!({"title": "Entwurf", "observations": [
        {"code": "718-7", "display": "Hb", "value": 1.0, "unit": "g/dl"}
    ]});
    let uploaded = app
        .upload(&patient, keller, upload_form(&metadata, PDF))
        .await;
    let draft = uploaded.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Dated {
        patient,
        released,
        draft,
    }
}

fn id_list(resources: &[Value]) -> Vec<String> {
    resources
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn fhir_date_code_status_sort_and_paging_answer_exact_sets() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let d = dated_findings(&app, &keller).await;
    let r = &d.released;
    let search = |query: &str| format!("DiagnosticReport?patient={}&{query}", d.patient);
    let set = |items: &[&String]| items.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let cases: Vec<(&str, BTreeSet<String>)> = vec![
        ("date=ge2024-02-01&date=lt2024-03-10", set(&[&r[1], &r[2]])),
        ("date=2024-03", set(&[&r[2], &r[3]])),
        ("date=eq2024-02-10", set(&[&r[1]])),
        ("date=gt2024-02-10", set(&[&r[2], &r[3], &d.draft])),
        ("date=le2024-02-10", set(&[&r[0], &r[1]])),
        ("date=lt2024", BTreeSet::new()),
        ("code=718-7", set(&[&r[0], &r[2], &d.draft])),
        ("code=http://loinc.org|2345-7", set(&[&r[1]])),
        ("status=preliminary", set(&[&d.draft])),
        ("status=final&code=718-7", set(&[&r[0], &r[2]])),
        ("status=entered-in-error", BTreeSet::new()),
    ];
    for (query, want) in cases {
        let found = all_pages(&app, &search(query), &keller).await;
        assert_eq!(
            id_list(&found).into_iter().collect::<BTreeSet<_>>(),
            want,
            "{query}"
        );
    }
    // Newest first, and oldest first.
    let newest = all_pages(&app, &search("status=final&_sort=-date"), &keller).await;
    assert_eq!(
        id_list(&newest),
        [&r[3], &r[2], &r[1], &r[0]].map(String::clone)
    );
    let oldest = all_pages(&app, &search("status=final&_sort=date"), &keller).await;
    assert_eq!(id_list(&oldest), r.clone());
    // Paging by one and by two visits every report exactly once.
    for count in [1, 2, 3] {
        let paged = all_pages(&app, &search(&format!("_count={count}")), &keller).await;
        let list = id_list(&paged);
        let unique: BTreeSet<_> = list.iter().cloned().collect();
        assert_eq!(list.len(), 5, "_count={count}");
        assert_eq!(unique.len(), 5, "_count={count}: each once");
    }
    // Values: by code and date, newest first.
    let values = all_pages(
        &app,
        &format!(
            "Observation?patient={}&code=718-7&date=ge2024-01-01&date=lt2025&_sort=-date",
            d.patient
        ),
        &keller,
    )
    .await;
    assert_eq!(
        id_list(&values),
        vec![format!("{}-0", r[2]), format!("{}-0", r[0])]
    );
    // The previous link leads back.
    let second = ok(&app, &search("_count=2&_offset=2"), &keller).await;
    let previous = second["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "previous")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = ok(&app, &previous, &keller).await;
    assert_eq!(entries(&first, "match").len(), 2);
    // Staff of the other tenant find nothing of hers, draft or not.
    let petersen = app.login("j.petersen").await;
    let foreign = ok(&app, &search(""), &petersen).await;
    assert!(entries(&foreign, "match").is_empty());
}

#[tokio::test]
async fn fhir_search_totals_and_includes_never_reveal_foreign_data() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let max = app.login("max.schmidt").await;
    let sophie = app.user("sophie.wagner");
    // A draft for Max: staff see it, Max does not.
    let metadata = json!({"title": "Entwurf", "observations": [
        {"code": "718-7", "display": "Hb", "value": 1.0, "unit": "g/dl"}
    ]});
    let patient = max.user.patient_ids[0].to_string();
    let draft = app
        .upload(&patient, &keller, upload_form(&metadata, PDF))
        .await;
    let draft = draft.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let bundle = ok(
        &app,
        "DiagnosticReport?_include=DiagnosticReport:result&_count=100",
        &max,
    )
    .await;
    let reports = entries(&bundle, "match");
    let included = entries(&bundle, "include");
    let own: BTreeSet<String> = max.user.finding_ids.iter().map(|f| f.to_string()).collect();
    assert_eq!(ids(&reports), own);
    assert!(!included.is_empty());
    for value in &included {
        assert_eq!(value["resourceType"], "Observation");
        assert_eq!(value["subject"]["reference"], format!("Patient/{patient}"));
        let finding = value["id"].as_str().unwrap().rsplit_once('-').unwrap().0;
        assert!(own.contains(finding), "included value of a foreign finding");
    }
    let results: usize = reports
        .iter()
        .map(|r| r["result"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(included.len(), results, "every result included once");
    // Drafts: neither listed nor readable, nor searchable by status.
    assert!(!ids(&reports).contains(&draft));
    let status = ok(&app, "DiagnosticReport?status=preliminary", &max).await;
    assert!(entries(&status, "match").is_empty());
    let read = fhir_get(&app, &format!("DiagnosticReport/{draft}"), Some(&max.token)).await;
    let nonexistent = fhir_get(
        &app,
        &format!("DiagnosticReport/{}", uuid::Uuid::new_v4()),
        Some(&max.token),
    )
    .await;
    assert_eq!(read.status, StatusCode::NOT_FOUND);
    assert_eq!(read.body, nonexistent.body);
    // Another patient's records, named in the search: nothing.
    for search in [
        "DiagnosticReport",
        "Observation",
        "DocumentReference",
        "AuditEvent",
    ] {
        let answer = ok(
            &app,
            &format!("{search}?patient=Patient/{}", sophie.patient_ids[0]),
            &max,
        )
        .await;
        assert!(entries(&answer, "match").is_empty(), "{search}");
    }
    let patients = ok(
        &app,
        &format!("Patient?_id={}", sophie.patient_ids[0]),
        &max,
    )
    .await;
    assert!(entries(&patients, "match").is_empty());
    // Staff see the draft, and only their tenant's patients.
    let staff = all_pages(&app, "DiagnosticReport?_count=100", &keller).await;
    assert!(id_list(&staff).contains(&draft));
    let tenant_patients = all_pages(&app, "Patient?_count=100", &keller).await;
    let tenant_patients: BTreeSet<String> = id_list(&tenant_patients).into_iter().collect();
    let subjects: BTreeSet<String> = staff
        .iter()
        .map(|r| r["subject"]["reference"].as_str().unwrap()["Patient/".len()..].to_owned())
        .collect();
    assert!(subjects.is_subset(&tenant_patients));
    assert!(!tenant_patients.contains(&app.user("leon.hoffmann").patient_ids[0].to_string()));
}

#[tokio::test]
async fn fhir_every_error_kind_is_an_operation_outcome() {
    let app = test_app()
        .configure(|c| c.not_found_limit = 5)
        .spawn()
        .await;
    let max = app.login("max.schmidt").await;
    let operator = app.login("oncall@").await;
    let token = Some(max.token.as_str());

    let metadata = fhir_get(&app, "metadata", None).await;
    assert_eq!(metadata.status, StatusCode::OK);
    assert_eq!(metadata.body["resourceType"], "CapabilityStatement");

    let unauthenticated = fhir_get(&app, "DiagnosticReport", None).await;
    expect_outcome(
        &unauthenticated,
        StatusCode::UNAUTHORIZED,
        "login",
        "no token",
    );
    assert_eq!(unauthenticated.headers["www-authenticate"], "Bearer");
    let forbidden = fhir_get(&app, "DiagnosticReport", Some(&operator.token)).await;
    expect_outcome(&forbidden, StatusCode::FORBIDDEN, "forbidden", "operator");
    let unknown_route = fhir_get(&app, "Medication/1", token).await;
    expect_outcome(
        &unknown_route,
        StatusCode::NOT_FOUND,
        "not-found",
        "unknown type",
    );
    for query in [
        "DiagnosticReport?foo=bar",
        "DiagnosticReport?subject:Patient.name=Max",
        "DiagnosticReport?patient.identifier=1",
        "DiagnosticReport?_revinclude=Observation:derived-from",
        "Patient?_has:Observation:patient:code=1",
        "DiagnosticReport?date=ne2024",
        "Observation?_count=100000",
        "DiagnosticReport?_include=DiagnosticReport:subject",
    ] {
        let bad = fhir_get(&app, query, token).await;
        expect_outcome(&bad, StatusCode::BAD_REQUEST, "invalid", query);
    }
    let missing = fhir_get(
        &app,
        &format!("DiagnosticReport/{}", uuid::Uuid::new_v4()),
        token,
    )
    .await;
    expect_outcome(&missing, StatusCode::NOT_FOUND, "not-found", "unknown ID");
    let malformed = fhir_get(&app, "Observation/not-an-id", token).await;
    assert_eq!(malformed.body, missing.body, "malformed like unknown");
    // Probing: too many unknown IDs in a row.
    let mut throttled = None;
    for _ in 0..20 {
        let answer = fhir_get(&app, &format!("Binary/{}", uuid::Uuid::new_v4()), token).await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(answer);
            break;
        }
    }
    let throttled = throttled.expect("probing is throttled");
    expect_outcome(
        &throttled,
        StatusCode::TOO_MANY_REQUESTS,
        "throttled",
        "probing",
    );

    // A switched-off service: 503 with Retry-After, as FHIR.
    let sophie = app.login("sophie.wagner").await;
    let off = app
        .post_json(
            "/api/v1/switches",
            &operator,
            &json!({"service": "findings.read", "state": "off", "reason": "fhir test"}),
        )
        .await;
    assert!(off.status().is_success(), "{}", off.text().await.unwrap());
    let mut switched = None;
    for _ in 0..100 {
        let answer = fhir_get(&app, "DiagnosticReport", Some(&sophie.token)).await;
        if answer.status == StatusCode::SERVICE_UNAVAILABLE {
            switched = Some(answer);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let switched = switched.expect("the switch takes effect");
    expect_outcome(
        &switched,
        StatusCode::SERVICE_UNAVAILABLE,
        "transient",
        "switched off",
    );
    assert!(switched.headers.contains_key("retry-after"));

    // Shedding load: one request at a time, the rest shed after 1 ms.
    let shedding = test_app()
        .configure(|c| {
            c.limits.max_in_flight = 1;
            c.limits.admission_wait = std::time::Duration::from_millis(1);
        })
        .spawn()
        .await;
    let erika = shedding.login("erika").await;
    let answers = join_all((0..128).map(|_| {
        fhir_get(
            &shedding,
            "DiagnosticReport?_include=DiagnosticReport:result",
            Some(&erika.token),
        )
    }))
    .await;
    let shed = answers
        .iter()
        .find(|a| a.status == StatusCode::SERVICE_UNAVAILABLE)
        .expect("some requests are shed");
    expect_outcome(shed, StatusCode::SERVICE_UNAVAILABLE, "transient", "shed");
    assert!(shed.headers.contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fhir_hundreds_of_concurrent_searches_each_see_only_their_own_patient() {
    let app = spawn_app().await;
    let mut patients = Vec::new();
    for prefix in [
        "erika.mustermann",
        "max.schmidt",
        "sophie.wagner",
        "jonas.becker",
        "leon.hoffmann",
        "mia.schulz",
        "paul.fischer",
    ] {
        patients.push(app.login(prefix).await);
    }
    let searches = (0..300).map(|i| {
        let session = &patients[i % patients.len()];
        let app = &app;
        async move {
            let query = if i % 2 == 0 {
                "DiagnosticReport?_sort=-date&_count=100&_include=DiagnosticReport:result"
            } else {
                "Observation?_count=100"
            };
            (session, fhir_get(app, query, Some(&session.token)).await)
        }
    });
    let answers = join_all(searches).await;
    let mut served = 0;
    for (session, answer) in answers {
        if answer.status == StatusCode::SERVICE_UNAVAILABLE {
            continue; // shed under load: allowed, never a foreign answer
        }
        assert_eq!(answer.status, StatusCode::OK);
        let own_patients: BTreeSet<String> = session
            .user
            .patient_ids
            .iter()
            .map(|p| format!("Patient/{p}"))
            .collect();
        let own_findings: BTreeSet<String> = session
            .user
            .finding_ids
            .iter()
            .map(|f| f.to_string())
            .collect();
        let all = entries(&answer.body, "match")
            .into_iter()
            .chain(entries(&answer.body, "include"))
            .collect::<Vec<_>>();
        for resource in all {
            let subject = resource["subject"]["reference"].as_str().unwrap();
            assert!(
                own_patients.contains(subject),
                "{}: {subject}",
                session.user.email
            );
            let id = resource["id"].as_str().unwrap();
            let finding = match resource["resourceType"].as_str().unwrap() {
                "Observation" => id.rsplit_once('-').unwrap().0,
                _ => id,
            };
            assert!(
                own_findings.contains(finding),
                "{}: {id}",
                session.user.email
            );
        }
        served += 1;
    }
    assert!(served >= 100, "only {served} of 300 served");
}

/// Success records of this actor under `action`.
async fn successes(app: &TestApp, actor: &str, action: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM audit_records WHERE actor_id = '{actor}' \
         AND action = '{action}' AND outcome = 'success'"
    ))
    .await
}

#[tokio::test]
async fn fhir_reads_and_searches_are_audited_before_the_answer_and_fail_closed() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let finding = max.user.finding_ids[0].to_string();
    let actor = max.actor_id.clone();

    let before = app.audit_count(&actor, &finding, &["success"]).await;
    for path in [
        format!("DiagnosticReport/{finding}"),
        format!("Observation/{finding}-0"),
        format!("DocumentReference/{finding}"),
        format!("Binary/{finding}"),
    ] {
        ok(&app, &path, &max).await;
    }
    let after = app.audit_count(&actor, &finding, &["success"]).await;
    assert_eq!(after, before + 4, "one record per read");
    let searches = successes(&app, &actor, "fhir_finding_search").await;
    ok(&app, "DiagnosticReport", &max).await;
    ok(&app, "Observation", &max).await;
    assert_eq!(
        successes(&app, &actor, "fhir_finding_search").await,
        searches + 2,
        "one record per patient record shown, per search"
    );
    let patient_reads = successes(&app, &actor, "fhir_patient_read").await;
    ok(&app, &format!("Patient/{}", max.user.patient_ids[0]), &max).await;
    assert_eq!(
        successes(&app, &actor, "fhir_patient_read").await,
        patient_reads + 1
    );

    // No durable record, no answer: every read and search fails closed.
    app.break_audit_log().await;
    for path in [
        format!("DiagnosticReport/{finding}"),
        "DiagnosticReport".to_owned(),
        "Observation".to_owned(),
        format!("Binary/{finding}"),
        format!("Patient/{}", max.user.patient_ids[0]),
        "AuditEvent".to_owned(),
    ] {
        let answer = fhir_get(&app, &path, Some(&max.token)).await;
        expect_outcome(&answer, StatusCode::SERVICE_UNAVAILABLE, "transient", &path);
        assert!(
            !answer.body.to_string().contains("Schmidt"),
            "{path}: no patient data without its record"
        );
    }
    app.repair_audit_log().await;
}
