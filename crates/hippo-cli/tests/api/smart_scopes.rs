//! SMART scopes (issue 13 point 3): tokens and API keys limited to scopes
//! reach only the actions their scopes name, scopes beyond the principal's
//! rights are refused, and the limit holds for every route of the route
//! table and under concurrent load.

use hippo_core::PrincipalKind;
use hippo_core::policy::Action;
use hippo_core::smart_scope::ScopeSet;
use hippo_server::declarations::{RouteSpec, Surface, Target, declarations};
use hippo_server::scope_grant::route_need;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, spawn_app, upload_with_key};
use crate::requests::{Credential, send};

async fn scoped_token(app: &TestApp, session: &Session, scope: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/scoped-token",
        session,
        &json!({ "scope": scope }),
    )
    .await
}

/// A session with the token minted for `scope` (asserting it was granted).
async fn scoped(app: &TestApp, session: &Session, scope: &str) -> Session {
    let response = scoped_token(app, session, scope).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{scope}");
    let body: Value = response.json().await.unwrap();
    let mut narrowed = session.clone();
    narrowed.token = body["token"].as_str().unwrap().to_owned();
    narrowed
}

async fn sessions_count(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM sessions").await
}

#[tokio::test]
async fn a_scoped_token_reaches_only_what_its_scopes_name() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let response = scoped_token(&app, &max, "patient/DiagnosticReport.rs").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "patient/DiagnosticReport.read", "normalised");
    let reports = scoped(&app, &max, "patient/DiagnosticReport.read").await;

    // What the scope names answers exactly as for the full session.
    let full: Value = app.get_json("/api/v1/findings", &max).await;
    let narrow: Value = app.get_json("/api/v1/findings", &reports).await;
    assert_eq!(full, narrow);
    let finding = full[0]["id"].as_str().unwrap();
    let detail = app
        .get_json(&format!("/api/v1/findings/{finding}"), &reports)
        .await;
    assert_eq!(detail["id"], finding);

    // Everything else is refused like a route the role may not use:
    // collections 403, items 404 (the PDF is a Binary, not in scope).
    for (path, status) in [
        (
            format!("/api/v1/findings/{finding}/pdf"),
            StatusCode::NOT_FOUND,
        ),
        ("/api/v1/threads".into(), StatusCode::FORBIDDEN),
        ("/api/v1/access-log".into(), StatusCode::FORBIDDEN),
        ("/api/v1/account/sessions".into(), StatusCode::FORBIDDEN),
        ("/api/v1/account/security".into(), StatusCode::FORBIDDEN),
    ] {
        let answer = app.get(&path, &reports).await;
        assert_eq!(answer.status(), status, "{path}");
        if status == StatusCode::FORBIDDEN {
            let body: Value = answer.json().await.unwrap();
            assert_eq!(body["error"]["code"], "insufficient_scope", "{path}");
        }
    }
    let pdf = app
        .get(&format!("/api/v1/findings/{finding}/pdf"), &max)
        .await;
    assert_eq!(pdf.status(), StatusCode::OK, "the full session still may");
    // No way up: a scoped token mints nothing, not even a narrower one.
    let before = sessions_count(&app).await;
    let again = scoped_token(&app, &reports, "patient/DiagnosticReport.read").await;
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    assert_eq!(sessions_count(&app).await, before);
    // Each refusal is audited as a denial outside the scope.
    let denied = app
        .audit_count(&max.actor_id, "outside_scope", &["denied"])
        .await;
    assert_eq!(denied, 6, "five refused reads and the refused mint");
    // The token can end itself.
    let logout = app.post_empty("/api/v1/auth/logout", &reports).await;
    assert!(logout.status().is_success(), "{}", logout.status());
    let after = app.get("/api/v1/findings", &reports).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn scopes_asking_for_more_than_the_principal_has_are_refused_and_mint_nothing() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let keller = app.login("a.keller").await;
    let before = sessions_count(&app).await;
    for (who, scope, reason) in [
        (&max, "system/DiagnosticReport.write", "cannot hold system/"),
        (
            &max,
            "user/DiagnosticReport.write",
            "asks for more than a patient",
        ),
        (&max, "patient/*.read user/Patient.write", "asks for more"),
        (&max, "openid", "expected context/Resource.access"),
        (&max, "patient/Medication.read", "unknown resource type"),
        (&max, "", "names no scope"),
        (
            &keller,
            "patient/*.read",
            "a clinician cannot hold patient/",
        ),
        (
            &keller,
            "user/AuditEvent.read",
            "asks for more than a clinician",
        ),
    ] {
        let response = scoped_token(&app, who, scope).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{scope}"
        );
        let body: Value = response.json().await.unwrap();
        let message = body.to_string();
        assert!(message.contains(reason), "{scope}: {message}");
    }
    let response = app
        .post_json(
            "/api/v1/auth/scoped-token",
            &max,
            &json!({"scope": "patient/*.read", "expires_in": 5}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(sessions_count(&app).await, before, "nothing was minted");
    // Within their rights, both get what they asked for.
    scoped(&app, &max, "patient/*.read").await;
    scoped(&app, &keller, "user/DiagnosticReport.read user/Patient.*").await;
}

#[tokio::test]
async fn an_api_key_limited_by_its_creator_carries_its_scope() {
    let app = spawn_app().await;
    let admin = app.login("admin@labor-nord").await;
    let keys_before = app.count("SELECT COUNT(*) FROM api_keys").await;
    for (scope, reason) in [
        ("system/Patient.read", "asks for more than a lab_system"),
        ("user/DiagnosticReport.write", "cannot hold user/"),
        ("patient/*.read", "cannot hold patient/"),
    ] {
        let response = app
            .post_json(
                "/api/v1/api-keys",
                &admin,
                &json!({"name": "Analyser", "scope": scope}),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{scope}"
        );
        let body = response.text().await.unwrap();
        assert!(body.contains(reason), "{scope}: {body}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_keys").await,
        keys_before
    );
    let response = app
        .post_json(
            "/api/v1/api-keys",
            &admin,
            &json!({"name": "Analyser", "scope": "system/DiagnosticReport.cud"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["scope"], "system/DiagnosticReport.write");
    let listed = app.get_json("/api/v1/api-keys", &admin).await;
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == created["id"])
        .unwrap();
    assert_eq!(row["scope"], "system/DiagnosticReport.write");
    let key = created["secret"].as_str().unwrap();
    let patient = app.user("max.schmidt").patient_ids[0].to_string();
    let upload = upload_with_key(&app, key, &patient).await;
    assert_eq!(upload.status(), StatusCode::CREATED);
}

async fn bare(app: &TestApp, spec: &RouteSpec, id: &str, credential: &Credential) -> StatusCode {
    let url = format!("{}{}", app.url, spec.path.replace("{id}", id));
    let request = match spec.method {
        "GET" => app.client.get(url),
        _ => app.client.post(url),
    };
    let (Credential::Session(token) | Credential::ApiKey(token)) = credential;
    request.bearer_auth(token).send().await.unwrap().status()
}

/// The scoped callers of the generated pass: each kind with a scope that
/// covers some of its routes and not others.
fn scoped_callers() -> [(PrincipalKind, &'static str, &'static str); 5] {
    [
        (
            PrincipalKind::Patient,
            "max.schmidt",
            "patient/DiagnosticReport.read",
        ),
        (PrincipalKind::Clinician, "a.keller", "user/Patient.read"),
        (PrincipalKind::Assistant, "l.vogel", "user/Communication.*"),
        (
            PrincipalKind::TenantAdmin,
            "admin@labor-nord",
            "user/AuditEvent.read",
        ),
        (
            PrincipalKind::LabSystem,
            "",
            "system/DiagnosticReport.write",
        ),
    ]
}

/// Every API route of the route table, called by each scoped caller: a
/// route whose action the scope does not name is refused (403 for
/// collections, 404 for items) with an `outside_scope` denial; a route it
/// names is never refused for the scope. Item routes get an unknown ID,
/// so only the audit record tells the two fences apart.
#[tokio::test]
async fn every_api_route_refuses_a_scoped_credential_outside_its_scopes() {
    let app = spawn_app().await;
    let admin = app.login("admin@labor-nord").await;
    let mut failures = Vec::new();
    let mut refused = 0;
    let mut passed = 0;
    for (kind, email, scope) in scoped_callers() {
        let scopes = ScopeSet::parse(scope).unwrap();
        let (credential, actor) = if kind == PrincipalKind::LabSystem {
            let response = app
                .post_json(
                    "/api/v1/api-keys",
                    &admin,
                    &json!({"name": "scoped matrix", "scope": scope}),
                )
                .await;
            let created: Value = response.json().await.unwrap();
            let key = created["secret"].as_str().unwrap().to_owned();
            (
                Credential::ApiKey(key),
                created["id"].as_str().unwrap().to_owned(),
            )
        } else {
            let full = app.login(email).await;
            let narrow = scoped(&app, &full, scope).await;
            (Credential::Session(narrow.token), full.actor_id)
        };
        for spec in declarations().iter().filter(|s| {
            matches!(s.surface, Surface::Api | Surface::Fhir)
                && !s.action.is_anonymous()
                && s.allowed.contains(&kind)
                && s.action != Action::Logout
        }) {
            let id = uuid::Uuid::new_v4().to_string();
            let line = format!(
                "outside_scope {} {}",
                spec.method,
                spec.path.replace("{id}", &id)
            );
            let before = app.audit_count(&actor, &line, &["denied"]).await;
            let permitted = scopes.meets(route_need(spec));
            // Refused requests never reach their body: the fence stands
            // before it, so a bare request shows it (some bodies need
            // setup that a refused credential cannot do).
            let status = if permitted {
                send(&app, spec, &id, &credential).await.status()
            } else {
                bare(&app, spec, &id, &credential).await
            };
            let denied = app.audit_count(&actor, &line, &["denied"]).await - before;
            let fence_status = match spec.target {
                Target::Collection => StatusCode::FORBIDDEN,
                Target::Item => StatusCode::NOT_FOUND,
            };
            let ok = if permitted {
                denied == 0
            } else {
                denied == 1 && status == fence_status
            };
            if permitted {
                passed += 1;
            } else {
                refused += 1;
            }
            if !ok {
                failures.push(format!(
                    "{} {} as {kind:?} with {scope}: status {status}, {denied} outside_scope denials",
                    spec.method, spec.path
                ));
            }
        }
    }
    println!("scoped routes: {refused} refused, {passed} within scope");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        refused > 20 && passed > 5,
        "{refused} refused, {passed} passed"
    );
}

/// 240 concurrent requests with scoped tokens of two patients and a
/// scoped lab key: every one in scope is answered with the caller's own
/// data or stored (or shed with 503), every one outside is refused; none
/// fails.
#[tokio::test]
async fn scoped_credentials_hold_under_concurrent_load() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let sophie = app.login("sophie.wagner").await;
    let max_reports = scoped(&app, &max, "patient/DiagnosticReport.read").await;
    let sophie_reports = scoped(&app, &sophie, "patient/DiagnosticReport.read").await;
    let own_ids = |findings: &Value| -> Vec<String> {
        let mut ids: Vec<String> = findings
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let max_ids = own_ids(&app.get_json("/api/v1/findings", &max).await);
    let sophie_ids = own_ids(&app.get_json("/api/v1/findings", &sophie).await);
    assert_ne!(max_ids, sophie_ids);
    let admin = app.login("admin@labor-nord").await;
    let created: Value = app
        .post_json(
            "/api/v1/api-keys",
            &admin,
            &json!({"name": "load", "scope": "system/DiagnosticReport.write"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let lab_key = created["secret"].as_str().unwrap().to_owned();
    let patients = app.get_json("/api/v1/patients", &admin).await;
    let patient = patients[0]["id"].as_str().unwrap().to_owned();

    let mut requests = Vec::new();
    for i in 0..240 {
        let app = &app;
        let (max_reports, sophie_reports) = (&max_reports, &sophie_reports);
        let (max_ids, sophie_ids) = (&max_ids, &sophie_ids);
        let (lab_key, patient) = (&lab_key, &patient);
        requests.push(async move {
            match i % 4 {
                0 | 1 => {
                    let (who, want) = if i % 4 == 0 {
                        (max_reports, max_ids)
                    } else {
                        (sophie_reports, sophie_ids)
                    };
                    let response = app.get("/api/v1/findings", who).await;
                    match response.status() {
                        StatusCode::OK => {
                            let got = own_ids(&response.json().await.unwrap());
                            (got == *want).then_some("own").ok_or("foreign data")
                        }
                        StatusCode::SERVICE_UNAVAILABLE => Ok("shed"),
                        _ => Err("in-scope read failed"),
                    }
                }
                2 => match app.get("/api/v1/threads", max_reports).await.status() {
                    StatusCode::FORBIDDEN => Ok("refused"),
                    _ => Err("out-of-scope read not refused"),
                },
                _ => match upload_with_key(app, lab_key, patient).await.status() {
                    StatusCode::CREATED => Ok("uploaded"),
                    StatusCode::SERVICE_UNAVAILABLE => Ok("shed"),
                    _ => Err("in-scope upload failed"),
                },
            }
        });
    }
    let results = futures_util::future::join_all(requests).await;
    let errors: Vec<_> = results.iter().filter_map(|r| r.err()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let own = results.iter().filter(|r| **r == Ok("own")).count();
    assert!(own > 0, "no in-scope read was answered");
    let uploaded = results.iter().filter(|r| **r == Ok("uploaded")).count();
    let stored = app
        .count(&format!(
            "SELECT COUNT(*) FROM findings WHERE patient_id = '{patient}'"
        ))
        .await;
    assert!(
        uploaded > 0 && stored >= uploaded as i64,
        "{uploaded} uploads, {stored} stored"
    );
}

/// On the FHIR facade the resource type decides: a token for values
/// searches Observations and is refused reports, documents and the PDF,
/// each refusal an OperationOutcome.
#[tokio::test]
async fn a_fhir_scope_names_the_resource_type_not_the_finding() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let values = scoped(&app, &max, "patient/Observation.read patient/Patient.read").await;
    let bundle = app.get_json("/fhir/r4/Observation?_count=5", &values).await;
    assert_eq!(bundle["resourceType"], "Bundle");
    let me = app.get_json("/fhir/r4/Patient", &values).await;
    assert_eq!(me["resourceType"], "Bundle");
    for path in [
        "/fhir/r4/DiagnosticReport",
        "/fhir/r4/DocumentReference",
        "/fhir/r4/AuditEvent",
    ] {
        let answer = app.get(path, &values).await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{path}");
        let outcome: Value = answer.json().await.unwrap();
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{path}");
    }
    let finding = app.get_json("/api/v1/findings", &max).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        format!("/fhir/r4/DiagnosticReport/{finding}"),
        format!("/fhir/r4/Binary/{finding}"),
    ] {
        assert_eq!(
            app.get(&path, &values).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
        assert_eq!(
            app.get(&path, &max).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
}
