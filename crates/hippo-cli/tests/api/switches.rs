//! Service switches (issue 11, point 4): each service off and on again,
//! everywhere and for one tenant, nothing of a switched-off service served
//! or half-done, bad input refused, four-eyes, audit records, the `hippo
//! switch` CLI against a running server, recovery of the watcher, two
//! instances on PostgreSQL, and a switch flipping under concurrent load.

use std::time::Duration;

use futures_util::future::join_all;
use hippo_core::TenantId;
use hippo_core::switches::Service;
use hippo_core::time_util::now_millis;
use hippo_server::auth::token::{hash_token, new_token};
use hippo_store::LoginSubject;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    PDF, ServeProcess, Session, TestApp, TestAppBuilder, files_under, finding_metadata, login_at,
    postgres_database, seeded_data_dir, test_app, upload_form,
};

/// The test app, with room for the login probes (five attempts per
/// account and minute by default).
fn app_builder<'a>() -> TestAppBuilder<'a> {
    test_app().configure(|c| c.login_attempts_per_account_per_minute = 10_000)
}

async fn spawn_app() -> TestApp {
    app_builder().spawn().await
}

/// Poll bound for effects on another instance: up to 100 tries 50 ms apart.
const TRIES: usize = 100;
const PAUSE: Duration = Duration::from_millis(50);

const USER_MESSAGE: &str = "Wartung bis 15 Uhr / maintenance until 3 pm";

/// The callers and objects every probe needs.
struct Fixture {
    operator: Session,
    clinician: Session,
    patient: Session,
    lab_key: String,
    /// Max Schmidt's record and a released finding of his (Labor Nord).
    patient_record: String,
    finding: String,
}

async fn lab_key(app: &TestApp, admin_prefix: &str) -> String {
    let admin = app.login(admin_prefix).await;
    let created = app
        .post_json("/api/v1/api-keys", &admin, &json!({"name": "switch tests"}))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    created.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn fixture(app: &TestApp) -> Fixture {
    let patient = app.login("max.schmidt").await;
    Fixture {
        operator: app.login("oncall@").await,
        clinician: app.login("a.keller").await,
        patient_record: patient.user.patient_ids[0].to_string(),
        finding: patient.user.finding_ids[0].to_string(),
        patient,
        lab_key: lab_key(app, "admin@labor-nord").await,
    }
}

async fn switch(
    app: &TestApp,
    operator: &Session,
    service: &str,
    tenant: Option<TenantId>,
    state: &str,
) -> Response {
    let mut body = json!({
        "service": service, "state": state,
        "reason": format!("test: {service} {state}"),
    });
    if let Some(tenant) = tenant {
        body["tenant_id"] = json!(tenant.to_string());
    }
    if state == "off" {
        body["message"] = json!(USER_MESSAGE);
    }
    app.post_json("/api/v1/switches", operator, &body).await
}

async fn switch_ok(
    app: &TestApp,
    operator: &Session,
    service: &str,
    tenant: Option<TenantId>,
    state: &str,
) {
    let response = switch(app, operator, service, tenant, state).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "switch {service} {state}"
    );
}

/// One request that belongs to `service`, as the fixture's callers.
async fn probe(app: &TestApp, f: &Fixture, service: Service) -> Response {
    match service {
        Service::Login => {
            app.login_raw(&f.clinician.user.email, &f.clinician.user.password)
                .await
        }
        Service::FindingsRead => {
            app.get(&format!("/api/v1/findings/{}", f.finding), &f.patient)
                .await
        }
        Service::FindingsDownload => {
            app.get(&format!("/api/v1/findings/{}/pdf", f.finding), &f.patient)
                .await
        }
        Service::FindingsUpload => {
            app.upload(
                &f.patient_record,
                &f.clinician,
                upload_form(&finding_metadata(), PDF),
            )
            .await
        }
        Service::Api => app
            .client
            .post(format!(
                "{}/api/v1/patients/{}/findings",
                app.url, f.patient_record
            ))
            .bearer_auth(&f.lab_key)
            .multipart(upload_form(&finding_metadata(), PDF))
            .send()
            .await
            .unwrap(),
        // No routes of these in this branch; merged later (see README).
        Service::Messaging | Service::Retrieval => unreachable!("no routes yet"),
    }
}

/// The same service in the browser, where it has a page.
async fn web_probe(app: &TestApp, f: &Fixture, service: Service) -> Option<Response> {
    let path = match service {
        Service::FindingsRead => format!("/findings/{}", f.finding),
        Service::FindingsDownload => format!("/findings/{}/pdf", f.finding),
        Service::Login => {
            // The login form's double-submit token: cookie and field agree.
            let csrf = &new_token();
            let user = &f.clinician.user;
            let response = app
                .client
                .post(format!("{}/login", app.url))
                .header("cookie", format!("hippo_login_csrf={csrf}"))
                .form(&[
                    ("email", user.email.as_str()),
                    ("password", &user.password),
                    ("csrf", csrf),
                ])
                .send()
                .await
                .unwrap();
            return Some(response);
        }
        _ => return None,
    };
    Some(app.web_get(&path, &f.patient).await)
}

/// A clean 503 of a switched-off service, JSON: Retry-After, the user
/// message, never the internal reason.
async fn assert_json_off(response: Response, what: &str) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{what}");
    assert!(response.headers().contains_key("retry-after"), "{what}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "service_off", "{what}: {body}");
    assert_eq!(body["error"]["message"], USER_MESSAGE, "{what}");
    assert!(
        !body.to_string().contains("test:"),
        "{what}: the reason leaked"
    );
}

async fn assert_page_off(response: Response, what: &str) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{what}");
    assert!(response.headers().contains_key("retry-after"), "{what}");
    let html = response.text().await.unwrap();
    assert!(html.contains("<html"), "{what}");
    assert!(html.contains("Wartung bis 15 Uhr"), "{what}");
    assert!(
        html.contains("Wartungsarbeiten") && html.contains("maintenance"),
        "{what}"
    );
    assert!(!html.contains("test:"), "{what}: the reason leaked");
}

const PROBED: [Service; 5] = [
    Service::Login,
    Service::FindingsRead,
    Service::FindingsDownload,
    Service::FindingsUpload,
    Service::Api,
];

/// Lab systems only upload: `findings.upload` off stops them too.
fn stopped_by(probed: Service, off: Service) -> bool {
    probed == off || (probed == Service::Api && off == Service::FindingsUpload)
}

#[tokio::test]
async fn each_service_switched_off_everywhere_answers_503_while_the_others_serve() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    for off in PROBED {
        switch_ok(&app, &f.operator, off.as_str(), None, "off").await;
        for probed in PROBED {
            let response = probe(&app, &f, probed).await;
            let what = format!("{probed} while {off} is off");
            if stopped_by(probed, off) {
                assert_json_off(response, &what).await;
            } else {
                assert!(
                    response.status().is_success(),
                    "{what}: {}",
                    response.status()
                );
            }
            if let Some(page) = web_probe(&app, &f, probed).await {
                if stopped_by(probed, off) {
                    assert_page_off(page, &what).await;
                } else {
                    // A page, or the login's redirect to the start page.
                    let status = page.status();
                    assert!(
                        status == StatusCode::OK || status == StatusCode::SEE_OTHER,
                        "{what} (web): {status}"
                    );
                }
            }
        }
        // The console and the switches are never switched off.
        assert_eq!(
            app.get("/api/v1/switches", &f.operator).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            app.web_get("/switches", &f.operator).await.status(),
            StatusCode::OK
        );
        switch_ok(&app, &f.operator, off.as_str(), None, "on").await;
        for probed in PROBED {
            let response = probe(&app, &f, probed).await;
            assert!(
                response.status().is_success(),
                "{probed} after {off} is on again"
            );
        }
    }
    // Messaging and retrieval switch like the others (their routes come
    // with their own branches) and stop nothing that exists here.
    for service in ["messaging", "retrieval"] {
        switch_ok(&app, &f.operator, service, None, "off").await;
        for probed in PROBED {
            assert!(probe(&app, &f, probed).await.status().is_success());
        }
        switch_ok(&app, &f.operator, service, None, "on").await;
    }
    // Every change is in the audit log: who, why, service, scope, old/new.
    let changes = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'switch_change' \
             AND outcome = 'success' AND actor_id = '{}'",
            f.operator.actor_id
        ))
        .await;
    assert_eq!(changes, 2 * (PROBED.len() as i64 + 2));
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_records WHERE action = 'switch_change' \
         AND resource_id = 'findings.read@*' ORDER BY seq LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        detail,
        "service=findings.read scope=everywhere old=on new=off reason=test: findings.read off"
    );
}

fn tenant_of(app: &TestApp, name: &str) -> TenantId {
    app.world
        .tenants
        .iter()
        .find(|t| t.name == name)
        .unwrap()
        .id
}

async fn finding_tenant(app: &TestApp, finding: &str) -> String {
    sqlx::query_scalar("SELECT tenant_id FROM findings WHERE id = $1")
        .bind(finding)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_tenant_switch_stops_that_tenant_and_patients_keep_their_other_facility() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let nord = tenant_of(&app, "Labor Nord");
    let petersen = app.login("j.petersen").await;
    let erika = app.login("erika.mustermann").await;
    let hafen_key = lab_key(&app, "admin@testzentrum").await;
    let mut nord_findings = Vec::new();
    let mut hafen_findings = Vec::new();
    for id in &erika.user.finding_ids {
        let id = id.to_string();
        if finding_tenant(&app, &id).await == nord.to_string() {
            nord_findings.push(id);
        } else {
            hafen_findings.push(id);
        }
    }
    assert!(!nord_findings.is_empty() && !hafen_findings.is_empty());
    let hafen_record = petersen.user.patient_ids[0].to_string();

    for service in [
        "findings.read",
        "findings.download",
        "findings.upload",
        "api",
        "login",
    ] {
        switch_ok(&app, &f.operator, service, Some(nord), "off").await;
    }
    // Staff and lab systems of Labor Nord: refused before any handler.
    let list = app
        .get(
            &format!("/api/v1/patients/{}/findings", f.patient_record),
            &f.clinician,
        )
        .await;
    assert_json_off(list, "Labor Nord staff list").await;
    assert_json_off(
        probe(&app, &f, Service::FindingsUpload).await,
        "Nord upload",
    )
    .await;
    assert_json_off(probe(&app, &f, Service::Api).await, "Nord lab key").await;
    assert_json_off(probe(&app, &f, Service::Login).await, "Nord staff login").await;
    // Testzentrum Hafen is not affected.
    let hafen_list = app
        .get(
            &format!("/api/v1/patients/{hafen_record}/findings"),
            &petersen,
        )
        .await;
    assert_eq!(hafen_list.status(), StatusCode::OK);
    let hafen_upload = app
        .client
        .post(format!(
            "{}/api/v1/patients/{hafen_record}/findings",
            app.url
        ))
        .bearer_auth(&hafen_key)
        .multipart(upload_form(&finding_metadata(), PDF))
        .send()
        .await
        .unwrap();
    assert_eq!(hafen_upload.status(), StatusCode::CREATED);
    let login = app
        .login_raw(&petersen.user.email, &petersen.user.password)
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    // Erika (patient at both) still logs in and sees Hafen's findings only.
    let login = app.login_raw(&erika.user.email, &erika.user.password).await;
    assert_eq!(login.status(), StatusCode::OK);
    // Max (Labor Nord only) cannot log in.
    let max = app
        .login_raw(&f.patient.user.email, &f.patient.user.password)
        .await;
    assert_json_off(max, "Max's login").await;
    let listed = app.get_json("/api/v1/findings", &erika).await;
    let listed: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    let mut expected = hafen_findings.clone();
    expected.sort();
    let mut got = listed.clone();
    got.sort();
    assert_eq!(got, expected);
    let before = app
        .count("SELECT COUNT(*) FROM audit_records WHERE action IN ('finding_read', 'finding_pdf_download') AND outcome = 'success'")
        .await;
    for id in &nord_findings {
        let read = app.get(&format!("/api/v1/findings/{id}"), &erika).await;
        assert_json_off(read, "Erika's Nord finding").await;
        let pdf = app.get(&format!("/api/v1/findings/{id}/pdf"), &erika).await;
        assert_json_off(pdf, "Erika's Nord PDF").await;
        let page = app.web_get(&format!("/findings/{id}"), &erika).await;
        assert_page_off(page, "Erika's Nord finding page").await;
    }
    // Nothing of the refused reads was recorded as served.
    let after = app
        .count("SELECT COUNT(*) FROM audit_records WHERE action IN ('finding_read', 'finding_pdf_download') AND outcome = 'success'")
        .await;
    assert_eq!(after, before);
    for id in &hafen_findings {
        let read = app.get(&format!("/api/v1/findings/{id}"), &erika).await;
        assert_eq!(read.status(), StatusCode::OK);
        let pdf = app.get(&format!("/api/v1/findings/{id}/pdf"), &erika).await;
        assert_eq!(pdf.status(), StatusCode::OK);
    }
    // The tenant switch is recorded with its tenant.
    let recorded = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'switch_change' \
             AND tenant_id = '{nord}' AND detail LIKE '%scope=tenant {nord} old=on new=off%'"
        ))
        .await;
    assert_eq!(recorded, 5);

    for service in [
        "findings.read",
        "findings.download",
        "findings.upload",
        "api",
        "login",
    ] {
        switch_ok(&app, &f.operator, service, Some(nord), "on").await;
    }
    for id in &nord_findings {
        let read = app.get(&format!("/api/v1/findings/{id}"), &erika).await;
        assert_eq!(read.status(), StatusCode::OK);
    }
    let all = app.get_json("/api/v1/findings", &erika).await;
    assert_eq!(all.as_array().unwrap().len(), erika.user.finding_ids.len());
    assert!(probe(&app, &f, Service::Api).await.status().is_success());
}

#[tokio::test]
async fn uploads_and_releases_while_switched_off_change_nothing() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let created = probe(&app, &f, Service::FindingsUpload).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let draft = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    switch_ok(&app, &f.operator, "findings.upload", None, "off").await;
    let findings = app.count("SELECT COUNT(*) FROM findings").await;
    let blobs = files_under(&app.dir.join("blobs")).len();
    for _ in 0..3 {
        assert_json_off(probe(&app, &f, Service::FindingsUpload).await, "upload").await;
        assert_json_off(probe(&app, &f, Service::Api).await, "lab upload").await;
    }
    let release = app
        .post_empty(&format!("/api/v1/findings/{draft}/release"), &f.clinician)
        .await;
    assert_json_off(release, "release").await;
    let web_release = app
        .web_post_form(
            &format!("/findings/{draft}/release"),
            &f.clinician,
            &[("csrf", &f.clinician.csrf())],
        )
        .await;
    assert_page_off(web_release, "web release").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM findings").await, findings);
    assert_eq!(files_under(&app.dir.join("blobs")).len(), blobs);
    let status: String = sqlx::query_scalar("SELECT status FROM findings WHERE id = $1")
        .bind(&draft)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "draft");
    switch_ok(&app, &f.operator, "findings.upload", None, "on").await;
    let release = app
        .post_empty(&format!("/api/v1/findings/{draft}/release"), &f.clinician)
        .await;
    assert_eq!(release.status(), StatusCode::OK);
}

#[tokio::test]
async fn bad_switch_requests_get_a_clear_4xx_and_change_nothing() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let bodies = [
        (
            json!({"service": "findings", "state": "off", "reason": "x"}),
            "valid services: login, findings.read",
        ),
        (json!({"service": "login", "state": "off"}), "reason"),
        (
            json!({"service": "login", "state": "off", "reason": "  "}),
            "reason",
        ),
        (
            json!({"service": "login", "state": "down", "reason": "x"}),
            "state",
        ),
        (
            json!({"service": "login", "state": "off", "reason": "x", "tenant_id": "nope"}),
            "tenant_id",
        ),
        (
            json!({"service": "login", "state": "off", "reason": "x", "tenant_id": TenantId::random().to_string()}),
            "no such tenant",
        ),
        (
            json!({"service": "login", "state": "off", "reason": "x", "colour": "red"}),
            "colour",
        ),
    ];
    for (body, reason) in bodies {
        let response = app.post_json("/api/v1/switches", &f.operator, &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: Value = response.json().await.unwrap();
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(reason), "{body}: {message}");
    }
    // Not an operator: refused.
    let staff = app
        .post_json(
            "/api/v1/switches",
            &f.clinician,
            &json!({"service": "login", "state": "off", "reason": "x"}),
        )
        .await;
    assert_eq!(staff.status(), StatusCode::FORBIDDEN);
    // A web form without a valid CSRF token changes nothing either.
    let forged = app
        .web_post_form(
            "/switches",
            &f.operator,
            &[
                ("csrf", "forged"),
                ("service", "login"),
                ("state", "off"),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT COUNT(*) FROM service_switches").await, 0);
    assert_eq!(
        app.count("SELECT version FROM service_switch_version")
            .await,
        0
    );
    assert!(probe(&app, &f, Service::Login).await.status().is_success());

    // The CLI: exit code 2 with the reason, nothing stored.
    let cases: [(&[&str], &str); 4] = [
        (
            &["switch", "off", "findings", "--reason", "x"],
            "valid services: login, findings.read",
        ),
        (&["switch", "off", "login"], "--reason"),
        (
            &["switch", "off", "login", "--reason", " "],
            "a reason is required",
        ),
        (
            &[
                "switch",
                "off",
                "login",
                "--reason",
                "x",
                "--operator",
                "alice",
                "--tenant",
                "00000000-0000-4000-8000-000000000000",
            ],
            "no such tenant",
        ),
    ];
    for (args, reason) in cases {
        let out = app
            .command()
            .args(args)
            .arg("--data-dir")
            .arg(&app.dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM service_switches").await, 0);
}

#[tokio::test]
async fn the_console_page_switches_a_service_with_its_form() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let page = app
        .web_get("/switches", &f.operator)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("findings.download") && page.contains("name=\"csrf\""));
    let csrf = f.operator.csrf();
    let fields = |state| {
        vec![
            ("csrf", csrf.clone()),
            ("service", "findings.download".to_owned()),
            ("tenant_id", String::new()),
            ("state", state),
            ("reason", "console test".to_owned()),
            ("message", USER_MESSAGE.to_owned()),
        ]
    };
    let off = app
        .client
        .post(format!("{}/switches", app.url))
        .header("cookie", f.operator.cookie())
        .form(&fields("off".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    assert_json_off(probe(&app, &f, Service::FindingsDownload).await, "download").await;
    let page = app
        .web_get("/switches", &f.operator)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("console test") && page.contains("Wartung bis 15 Uhr"));
    let on = app
        .client
        .post(format!("{}/switches", app.url))
        .header("cookie", f.operator.cookie())
        .form(&fields("on".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(on.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        probe(&app, &f, Service::FindingsDownload).await.status(),
        StatusCode::OK
    );
}

/// A second operator with a session minted in the store.
async fn second_operator(app: &TestApp) -> Session {
    let id = app
        .store
        .unscoped_provisioning()
        .create_operator("second@hippo.example", "Second Operator", "not-a-hash")
        .await
        .unwrap();
    let token = new_token();
    let now = now_millis();
    app.store
        .unscoped_auth()
        .create_session(
            &hash_token(&token),
            LoginSubject::Operator(id),
            now,
            now + 3_600_000,
        )
        .await
        .unwrap();
    let mut user = app.user("oncall@");
    user.email = "second@hippo.example".into();
    Session {
        token,
        actor_id: id.to_string(),
        user,
    }
}

#[tokio::test]
async fn four_eyes_turning_a_service_on_everywhere_takes_a_second_operator() {
    let app = app_builder()
        .configure(|c| {
            c.switch_four_eyes = true;
            c.login_attempts_per_account_per_minute = 10_000;
        })
        .spawn()
        .await;
    let f = fixture(&app).await;
    let second = second_operator(&app).await;
    switch_ok(&app, &f.operator, "findings.read", None, "off").await;
    let requested = switch(&app, &f.operator, "findings.read", None, "on").await;
    assert_eq!(requested.status(), StatusCode::ACCEPTED);
    let body: Value = requested.json().await.unwrap();
    assert_eq!(body["outcome"], "awaiting_second_operator");
    assert_json_off(probe(&app, &f, Service::FindingsRead).await, "pending").await;
    let listed = app.get_json("/api/v1/switches", &f.operator).await;
    assert_eq!(listed["pending"].as_array().unwrap().len(), 1);
    // The same operator cannot approve their own request.
    let own = switch(&app, &f.operator, "findings.read", None, "on").await;
    assert_eq!(own.status(), StatusCode::CONFLICT);
    let own: Value = own.json().await.unwrap();
    assert!(
        own["error"]["message"]
            .as_str()
            .unwrap()
            .contains("second operator")
    );
    assert_json_off(
        probe(&app, &f, Service::FindingsRead).await,
        "self-approved",
    )
    .await;
    // A different operator completes it.
    let approved = switch(&app, &second, "findings.read", None, "on").await;
    assert_eq!(approved.status(), StatusCode::OK);
    let approved: Value = approved.json().await.unwrap();
    assert_eq!(approved["outcome"], "approved");
    assert_eq!(
        approved["requested_by"],
        format!("operator:{}", f.operator.actor_id)
    );
    assert_eq!(
        probe(&app, &f, Service::FindingsRead).await.status(),
        StatusCode::OK
    );
    let recorded = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'switch_change' AND actor_id = '{}' \
             AND detail LIKE '%four_eyes=approved first=operator:{}%'",
            second.actor_id, f.operator.actor_id
        ))
        .await;
    assert_eq!(recorded, 1);
    let refused = app
        .count("SELECT COUNT(*) FROM audit_records WHERE action = 'switch_change' AND outcome = 'rejected'")
        .await;
    assert_eq!(refused, 1);
    // One tenant back on needs no second operator.
    let nord = tenant_of(&app, "Labor Nord");
    switch_ok(&app, &f.operator, "findings.read", Some(nord), "off").await;
    switch_ok(&app, &f.operator, "findings.read", Some(nord), "on").await;

    // The CLI under the same rule, operators named by --operator.
    let config = app.dir.join("four-eyes.toml");
    std::fs::write(&config, "switch_four_eyes = true\n").unwrap();
    let cli = |args: &[&str]| {
        app.command()
            .args(args)
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&app.dir)
            .output()
            .unwrap()
    };
    let off = cli(&[
        "switch",
        "off",
        "api",
        "--reason",
        "lab flood",
        "--operator",
        "alice",
    ]);
    assert!(off.status.success());
    let first = cli(&[
        "switch",
        "on",
        "api",
        "--reason",
        "fixed",
        "--operator",
        "alice",
    ]);
    assert!(String::from_utf8_lossy(&first.stdout).contains("second operator"));
    let again = cli(&[
        "switch",
        "approve",
        "api",
        "--reason",
        "fixed",
        "--operator",
        "alice",
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("second operator"));
    let done = cli(&[
        "switch",
        "approve",
        "api",
        "--reason",
        "checked",
        "--operator",
        "bob",
    ]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        String::from_utf8_lossy(&done.stdout)
            .contains("approved the request of operator_cli:alice")
    );
}

/// Poll `check` until it holds, at most [`TRIES`] times [`PAUSE`] apart.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..TRIES {
        if check().await {
            return;
        }
        tokio::time::sleep(PAUSE).await;
    }
    panic!("{what}: not seen after {TRIES} tries");
}

#[tokio::test]
async fn the_cli_switches_a_running_server_and_keeps_the_last_state_while_the_table_is_unreadable()
{
    let app = app_builder().on_sqlite().spawn().await;
    let f = fixture(&app).await;
    let out = app.hippo(&[
        "switch",
        "off",
        "findings.download",
        "--reason",
        "blob store migration",
        "--message",
        USER_MESSAGE,
        "--operator",
        "alice",
    ]);
    assert!(
        out.contains("findings.download (everywhere): on -> off"),
        "{out}"
    );
    eventually("the server sees the CLI's switch", || async {
        probe(&app, &f, Service::FindingsDownload).await.status() == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    assert_json_off(
        probe(&app, &f, Service::FindingsDownload).await,
        "after CLI",
    )
    .await;
    let listed = app.hippo(&["switch", "list"]);
    assert!(
        listed.contains("findings.download") && listed.contains("blob store migration"),
        "{listed}"
    );
    let by = app
        .count(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'switch_change' \
                AND actor_kind = 'operator_cli' AND actor_id = 'alice' \
                AND detail LIKE '%old=on new=off reason=blob store migration%'",
        )
        .await;
    assert_eq!(by, 1);

    // The switch table becomes unreadable: the server keeps the last known
    // state (still off), counts and logs the failures, and keeps trying.
    sqlx::query("ALTER TABLE service_switch_version RENAME TO service_switch_version_away")
        .execute(&app.db)
        .await
        .unwrap();
    eventually("the watcher reports failed reads", || async {
        let health = app.get_json("/api/v1/switches", &f.operator).await;
        health["instance"]["read_failures"].as_u64().unwrap_or(0) >= 2
            && health["instance"]["stale_since"].is_i64()
    })
    .await;
    assert_json_off(probe(&app, &f, Service::FindingsDownload).await, "stale").await;
    sqlx::query("ALTER TABLE service_switch_version_away RENAME TO service_switch_version")
        .execute(&app.db)
        .await
        .unwrap();
    app.hippo(&[
        "switch",
        "on",
        "findings.download",
        "--reason",
        "migrated",
        "--operator",
        "alice",
    ]);
    eventually("the server recovers and sees the switch on", || async {
        probe(&app, &f, Service::FindingsDownload).await.status() == StatusCode::OK
    })
    .await;
    let health = app.get_json("/api/v1/switches", &f.operator).await;
    assert!(health["instance"]["stale_since"].is_null(), "{health}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgresql_share_switches_within_the_polling_bound() {
    let database = postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let world = seeded_data_dir(dir.path(), Some(&database)).await;
    let args = ["--database-url", database.as_str()];
    let a = ServeProcess::start(dir.path(), &args);
    // B polls once a minute: within the bound below only the change's
    // NOTIFY can reach it.
    let slow = dir.path().join("slow-poll.toml");
    std::fs::write(&slow, "switch_poll_ms = 60000\n").unwrap();
    let b = ServeProcess::start(
        dir.path(),
        &[
            "--database-url",
            database.as_str(),
            "--config",
            slow.to_str().unwrap(),
        ],
    );
    let client = reqwest::Client::new();
    let user = |prefix: &str| {
        world
            .users
            .iter()
            .find(|u| u.email.starts_with(prefix))
            .unwrap()
            .clone()
    };
    let (oncall, max) = (user("oncall@"), user("max.schmidt"));
    let operator = login_at(&client, &a.url, &oncall.email, &oncall.password).await;
    let patient = login_at(&client, &b.url, &max.email, &max.password).await;
    let finding = max.finding_ids[0];
    let read_on_b = || async {
        client
            .get(format!("{}/api/v1/findings/{finding}", b.url))
            .bearer_auth(&patient)
            .send()
            .await
            .unwrap()
    };
    assert_eq!(read_on_b().await.status(), StatusCode::OK);
    let change = |state: &str| {
        let body = json!({"service": "findings.read", "state": state, "reason": "pg test", "message": USER_MESSAGE});
        client
            .post(format!("{}/api/v1/switches", a.url))
            .bearer_auth(&operator)
            .json(&body)
            .send()
    };
    assert_eq!(change("off").await.unwrap().status(), StatusCode::OK);
    let mut refused = None;
    for _ in 0..TRIES {
        let response = read_on_b().await;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            refused = Some(response);
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    let refused = refused.expect("instance B never refused within the polling bound");
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["message"], USER_MESSAGE);
    assert_eq!(change("on").await.unwrap().status(), StatusCode::OK);
    let mut served = false;
    for _ in 0..TRIES {
        if read_on_b().await.status() == StatusCode::OK {
            served = true;
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    assert!(
        served,
        "instance B never served again within the polling bound"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_flipping_under_250_concurrent_requests_gives_success_or_a_clean_503() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let findings_before = app.count("SELECT COUNT(*) FROM findings").await;
    let blobs_before = app.count("SELECT COUNT(*) FROM blobs").await;
    let done = std::sync::atomic::AtomicBool::new(false);
    // Requests go out in waves, wave n once the switch has flipped n
    // times, so that they meet the switch in both states (sent all at
    // once, every one passes the gate before the first flip commits).
    let (flipped, watch) = tokio::sync::watch::channel(0usize);
    let after_flips = |n: usize| {
        let mut watch = watch.clone();
        async move {
            watch.wait_for(|&flips| flips >= n).await.unwrap();
        }
    };
    let uploads = (0..200).map(|i| {
        let wave = after_flips(i / 20);
        async {
            wave.await;
            let r = probe(&app, &f, Service::FindingsUpload).await;
            ("upload", r.status(), r.text().await.unwrap())
        }
    });
    let reads = (0..50).map(|i| {
        let wave = after_flips(i / 5);
        async {
            wave.await;
            let r = probe(&app, &f, Service::FindingsRead).await;
            ("read", r.status(), r.text().await.unwrap())
        }
    });
    let requests = async {
        let answers = tokio::join!(join_all(uploads), join_all(reads));
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        answers
    };
    // Off and on again, for as long as any request is in flight.
    let flips = async {
        let mut flips = 0usize;
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            let state = if flips.is_multiple_of(2) { "off" } else { "on" };
            switch_ok(&app, &f.operator, "findings.upload", None, state).await;
            flips += 1;
            flipped.send_replace(flips);
        }
        flips
    };
    let ((answers, reads), flips) = tokio::join!(requests, flips);
    let mut created = 0i64;
    let mut refused = 0;
    for (what, status, body) in answers.iter().chain(reads.iter()) {
        match *status {
            StatusCode::CREATED | StatusCode::OK => {
                if *what == "upload" {
                    assert_eq!(*status, StatusCode::CREATED);
                    created += 1;
                }
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                let body: Value = serde_json::from_str(body).unwrap();
                let code = body["error"]["code"].as_str().unwrap();
                assert!(code == "service_off" || code == "overloaded", "{body}");
                assert_eq!(*what, "upload", "reads are not switched");
                refused += 1;
            }
            other => panic!("{what}: {other} {body}"),
        }
    }
    println!("{created} uploads stored, {refused} refused while the switch flipped {flips} times");
    assert_eq!(created + refused as i64, 200);
    // The switch flipped all the time the 200 uploads took: both answers
    // occur (each flip is a committed change, so the server spent about
    // half of that time with uploads off).
    assert!(flips >= 2 && created > 0 && refused > 0, "{flips} flips");
    // Every 201 is one whole finding, every 503 none.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM findings").await,
        findings_before + created
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM blobs").await,
        blobs_before + created
    );
    switch_ok(&app, &f.operator, "findings.upload", None, "on").await;
    assert_eq!(
        probe(&app, &f, Service::FindingsUpload).await.status(),
        StatusCode::CREATED
    );
}
