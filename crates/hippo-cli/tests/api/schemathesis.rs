//! Issue 13 point 5: schemathesis (from PyPI, a client Hippo did not
//! write) fuzzes the served OpenAPI document as each demo role, and finds
//! no 5xx and no answer outside the documented statuses, media types and
//! schemas. The test's name carries the marker: `scripts/test` installs
//! schemathesis into `target/schemathesis-venv` and runs it; without it the test
//! fails, and the default filter leaves it out.

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::helpers::{TestApp, test_app};

/// The schemathesis program: `HIPPO_TEST_SCHEMATHESIS`, else the one on
/// `PATH`.
fn schemathesis() -> PathBuf {
    std::env::var_os("HIPPO_TEST_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("schemathesis"))
}

/// The operations that end the caller's own session: fuzzed last, each
/// caller with a session of its own, so that they cannot cut the other
/// runs short.
const SESSION_ENDING: [&str; 2] = [
    "/api/v1/auth/logout",
    "/api/v1/account/sessions/revoke-others",
];

/// Which operations a run takes.
#[derive(Clone, Copy)]
enum Selection {
    AllButSessionEnding,
    OnlySessionEnding,
}

/// One run as one caller: operations selected, in the document, tested.
fn run_as(
    app: &TestApp,
    role: &str,
    authorization: &str,
    selection: Selection,
) -> (usize, usize, usize) {
    let flag = match selection {
        Selection::AllButSessionEnding => "--exclude-path",
        Selection::OnlySessionEnding => "--include-path",
    };
    let paths: Vec<&str> = SESSION_ENDING.iter().flat_map(|p| [flag, *p]).collect();
    let output = Command::new(schemathesis())
        .arg("run")
        .arg(format!("{}/api/v1/openapi.json", app.url))
        .args(["--header", &format!("Authorization: {authorization}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance,response_headers_conformance",
        ])
        .args(["--max-examples", "8", "--phases", "examples,fuzzing"])
        .args(["--seed", "13"])
        .args(&paths)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("{} could not start: {e}", schemathesis().display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis as {role} found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // "Selected: 61/63" and "Tested: 61" in the summary.
    let numbers = |label: &str| -> Vec<usize> {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|rest| {
                rest.split('/')
                    .filter_map(|n| n.trim().parse().ok())
                    .collect()
            })
            .unwrap_or_else(|| panic!("no {label:?} in schemathesis' summary:\n{stdout}"))
    };
    let selected = numbers("Selected:");
    (selected[0], selected[1], numbers("Tested:")[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_undocumented_answer_as_any_role() {
    // Random IDs are what schemathesis sends: the probing limit would
    // answer them 429 after 20 and hide the operations behind them.
    let app = test_app()
        .configure(|c| {
            c.not_found_limit = u32::MAX;
            c.login_attempts_per_client_per_minute = 10_000;
            c.password_reset_requests_per_client_per_minute = 10_000;
        })
        .spawn()
        .await;
    let admin = app.login("admin@labor-nord").await;
    let created = app
        .post_json(
            "/api/v1/api-keys",
            &admin,
            &json!({"name": "schemathesis lab", "expires_in_days": 30}),
        )
        .await;
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    let created: serde_json::Value = created.json().await.unwrap();
    let lab_key = created["secret"].as_str().unwrap().to_owned();
    // The operator last: its switch changes may turn services off for
    // the others.
    let mut callers = Vec::new();
    for (role, prefix) in [
        ("patient", "erika.mustermann"),
        ("clinician", "a.keller"),
        ("assistant", "l.vogel"),
        ("tenant admin", "admin@labor-nord"),
    ] {
        let session = app.login(prefix).await;
        callers.push((role, format!("Bearer {}", session.token)));
    }
    callers.push(("lab system", format!("Bearer {lab_key}")));
    let operator = app.login("oncall@").await;
    callers.push(("operator", format!("Bearer {}", operator.token)));

    for (role, authorization) in callers {
        let app = &app;
        let (selected, documented, tested) = tokio::task::block_in_place(|| {
            run_as(app, role, &authorization, Selection::AllButSessionEnding)
        });
        // Every operation of the document but the two excluded, all tested.
        assert_eq!(selected, documented - 2, "{role}: operations selected");
        assert_eq!(tested, selected, "{role}: every selected operation tested");
    }
    // The two session-ending operations, each role with a fresh session:
    // with the runs above, every operation of the document is covered.
    for (role, prefix) in [("patient", "erika.mustermann"), ("clinician", "a.keller")] {
        let session = app.login(prefix).await;
        let authorization = format!("Bearer {}", session.token);
        let app = &app;
        let (selected, _, tested) = tokio::task::block_in_place(|| {
            run_as(app, role, &authorization, Selection::OnlySessionEnding)
        });
        assert_eq!(
            selected,
            SESSION_ENDING.len(),
            "{role}: session-ending operations"
        );
        assert_eq!(
            tested, selected,
            "{role}: every session-ending operation tested"
        );
    }
}
