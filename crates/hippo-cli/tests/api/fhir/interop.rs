//! Conformance evidence (issue 13 point 4): every resource type Hippo's
//! FHIR facade emits, collected from the running server, validates against
//! the R4 definitions of `fhir.resources` (PyPI); and `fhirclient` (SMART
//! on FHIR's client, PyPI) reads the demo data, compared with the JSON
//! API. Both need the python in `HIPPO_TEST_INTEROP_PYTHON` (`scripts/test`
//! provides it); under `CI=true` its absence fails the test. Its
//! fhir.resources is 6.1.0, the last release with R4 (4.0.1) definitions;
//! the validation refuses any other.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use super::{fhir_get, ok};
use crate::helpers::{TestApp, spawn_app};

/// The interop python, or `None` (outside CI: the test says it skipped).
fn interop_python() -> Option<PathBuf> {
    match std::env::var_os("HIPPO_TEST_INTEROP_PYTHON") {
        Some(python) => Some(PathBuf::from(python)),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("HIPPO_TEST_INTEROP_PYTHON must name the interop venv's python3 under CI")
        }
        None => {
            println!("skipped: HIPPO_TEST_INTEROP_PYTHON is not set");
            None
        }
    }
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/api/fhir_py/{name}"))
}

fn run(python: &PathBuf, args: &[&str]) -> String {
    let output = Command::new(python).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// One of each answer the facade gives, as `(name, JSON)`.
async fn emitted(app: &TestApp) -> Vec<(String, Value)> {
    let max = app.login("max.schmidt").await;
    let keller = app.login("a.keller").await;
    let finding = max.user.finding_ids[0];
    let patient = max.user.patient_ids[0];
    // A conversation with Max, both ways (the demo's are with others).
    let thread: Value = app
        .post_json(
            "/api/v1/threads",
            &keller,
            &serde_json::json!({"subject": "Ihr Befund", "body": "Bitte melden Sie sich.",
                "patient_id": patient.to_string()}),
        )
        .await
        .json()
        .await
        .unwrap();
    let answered = app
        .post_json(
            &format!(
                "/api/v1/threads/{}/messages",
                thread["id"].as_str().unwrap()
            ),
            &max,
            &serde_json::json!({"body": "Danke."}),
        )
        .await;
    assert!(answered.status().is_success());
    let mut all = vec![(
        "capability".to_owned(),
        fhir_get(app, "metadata", None).await.body,
    )];
    for (name, path) in [
        ("patient", format!("Patient/{patient}")),
        ("report", format!("DiagnosticReport/{finding}")),
        ("observation", format!("Observation/{finding}-0")),
        ("document", format!("DocumentReference/{finding}")),
        ("binary", format!("Binary/{finding}")),
        (
            "reports",
            "DiagnosticReport?_include=DiagnosticReport:result&_count=2".to_owned(),
        ),
        ("observations", "Observation?_count=5".to_owned()),
        ("documents", "DocumentReference?_count=2".to_owned()),
        ("patients", "Patient".to_owned()),
        ("audit-events", "AuditEvent?_count=5".to_owned()),
        ("communications", "Communication?_count=20".to_owned()),
    ] {
        all.push((name.to_owned(), ok(app, &path, &max).await));
    }
    // One message read by ID, and the facility's view of its messages
    // (patient names, an attachment, a retracted thread).
    let communications = &all.last().expect("the communications search").1;
    let message = communications["entry"][0]["resource"]["id"]
        .as_str()
        .expect("Max's messages")
        .to_owned();
    all.push((
        "communication".to_owned(),
        ok(app, &format!("Communication/{message}"), &max).await,
    ));
    all.push((
        "staff-communications".to_owned(),
        ok(app, "Communication?_count=50", &keller).await,
    ));
    // Staff see drafts (preliminary) too.
    all.push((
        "staff-reports".to_owned(),
        ok(
            app,
            "DiagnosticReport?_count=5&status=preliminary,final",
            &keller,
        )
        .await,
    ));
    for (name, path) in [
        (
            "outcome-404",
            format!("DiagnosticReport/{}", uuid::Uuid::new_v4()),
        ),
        (
            "outcome-400",
            "DiagnosticReport?_has:Observation:patient:code=1".to_owned(),
        ),
    ] {
        all.push((
            name.to_owned(),
            fhir_get(app, &path, Some(&max.token)).await.body,
        ));
    }
    all.push((
        "outcome-401".to_owned(),
        fhir_get(app, "Patient", None).await.body,
    ));
    all
}

#[tokio::test]
async fn fhir_interop_every_emitted_resource_validates_against_r4() {
    let Some(python) = interop_python() else {
        return;
    };
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let mut types = BTreeSet::new();
    for (name, resource) in emitted(&app).await {
        types.insert(resource["resourceType"].as_str().unwrap().to_owned());
        if resource["resourceType"] == "Bundle" {
            for entry in resource["entry"].as_array().unwrap() {
                types.insert(
                    entry["resource"]["resourceType"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
        }
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(path, serde_json::to_vec_pretty(&resource).unwrap()).unwrap();
    }
    assert_eq!(
        types,
        [
            "AuditEvent",
            "Binary",
            "Bundle",
            "CapabilityStatement",
            "Communication",
            "DiagnosticReport",
            "DocumentReference",
            "Observation",
            "OperationOutcome",
            "Patient",
        ]
        .into_iter()
        .map(String::from)
        .collect()
    );
    // The interop venv holds fhir.resources 6.1.0, R4 itself (4.0.1);
    // validate.py refuses other definitions (6.2 on are R4B).
    {
        let report = run(
            &python,
            &[
                script("validate.py").to_str().unwrap(),
                dir.path().to_str().unwrap(),
            ],
        );
        println!("{report}");
        assert!(report.contains("FHIR 4.0.1"), "{report}");
        assert!(report.contains(", 0 invalid"), "{report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fhir_interop_fhirclient_reads_the_demo_data_like_the_json_api() {
    let Some(python) = interop_python() else {
        return;
    };
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let patient = max.user.patient_ids[0].to_string();
    let base = format!("{}/fhir/r4/", app.url);
    let token = max.token.clone();
    let patient_arg = patient.clone();
    let stdout = tokio::task::spawn_blocking(move || {
        run(
            &python,
            &[
                script("read_with_fhirclient.py").to_str().unwrap(),
                &base,
                &token,
                &patient_arg,
            ],
        )
    })
    .await
    .unwrap();
    let read: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(read["patient"]["id"], patient.as_str());
    assert_eq!(read["patient"]["family"], "Schmidt");
    assert_eq!(read["patient"]["given"][0], "Max");
    assert_eq!(read["patient"]["birthDate"], "1978-03-02");
    // The same findings as the JSON API lists, newest first, each with
    // as many results as it has values.
    let listed = app.get_json("/api/v1/findings", &max).await;
    let listed = listed.as_array().unwrap();
    let reports = read["reports"].as_array().unwrap();
    assert_eq!(reports.len(), listed.len(), "{read}");
    for (report, finding) in reports.iter().zip(listed) {
        assert_eq!(report["id"], finding["id"]);
        assert_eq!(report["title"], finding["title"]);
        assert_eq!(report["status"], "final");
        assert_eq!(report["subject"], format!("Patient/{patient}"));
        let detail = app
            .get_json(
                &format!("/api/v1/findings/{}", finding["id"].as_str().unwrap()),
                &max,
            )
            .await;
        assert_eq!(
            report["results"].as_u64().unwrap() as usize,
            detail["observations"].as_array().unwrap().len()
        );
    }
}
