//! What operators do: bad input refused (API, console, CLI), the console
//! form, four-eyes, and the CLI against a running server, including the
//! watcher keeping the last state while the table cannot be read.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

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
    let csrf = app.web_csrf(&f.operator).await;
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
        .header("cookie", app.web_cookie(&f.operator).await)
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
        .header("cookie", app.web_cookie(&f.operator).await)
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
