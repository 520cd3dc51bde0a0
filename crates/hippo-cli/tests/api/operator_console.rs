//! The operator console (issue 12, point 5): forensic queries are bound to
//! a purpose that their audit record keeps, incidents carry the 72-hour
//! clock and open from alerts, the console is for operators only, and a
//! forensic answer names pseudonymous IDs, never a name or a value.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Row;

use crate::helpers::{Session, TestApp, spawn_app};

const ACCESSES: &str = "/api/v1/forensics/accesses";
const BLAST_RADIUS: &str = "/api/v1/forensics/blast-radius";

/// The detail of this actor's forensic-query audit records.
async fn forensic_details(app: &TestApp, operator: &Session) -> Vec<String> {
    sqlx::query(
        "SELECT detail FROM audit_records WHERE actor_id = $1 AND action = 'forensics_query' \
         AND outcome = 'success' ORDER BY seq",
    )
    .bind(&operator.actor_id)
    .fetch_all(&app.db)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<Option<String>, _>(0).unwrap_or_default())
    .collect()
}

/// An alert as the anomaly rules would raise it, for the given actor.
async fn raise_alert(app: &TestApp, id: &str, actor: &str) {
    let now = hippo_core::time_util::now_millis();
    sqlx::query(
        "INSERT INTO alerts (id, rule, raised_at, actor, first_at, last_at, count, detail, dedup_key) \
         VALUES ($1, 'many_patients', $2, $3, $4, $2, 3, 'test', $1)",
    )
    .bind(id)
    .bind(now)
    .bind(actor)
    .bind(now - 3_600_000)
    .execute(&app.db)
    .await
    .unwrap();
}

async fn open_incident_from_alert(app: &TestApp, operator: &Session, alert: &str) -> String {
    let opened = app
        .web_post_form(
            "/incidents",
            operator,
            &[
                ("csrf", &app.web_csrf(operator).await),
                ("alert_id", alert),
                ("rule", "many_patients"),
            ],
        )
        .await;
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    sqlx::query("SELECT id FROM incidents ORDER BY created_at DESC LIMIT 1")
        .fetch_one(&app.db)
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn operator_console_forensic_query_without_purpose_is_refused() {
    let app = spawn_app().await;
    let operator = app.login("oncall@").await;
    let before = forensic_details(&app, &operator).await.len();
    for path in [ACCESSES, BLAST_RADIUS] {
        let refused = app.get(&format!("{path}?actor=someone"), &operator).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{path}");
        let body: Value = refused.json().await.unwrap();
        let message = body.to_string();
        assert!(
            message.contains("incident") && message.contains("reason"),
            "the refusal says what to add: {message}"
        );
        let blank = app.get(&format!("{path}?reason=%20%20"), &operator).await;
        assert_eq!(blank.status(), StatusCode::BAD_REQUEST, "blank is absent");
        let thin = app.get(&format!("{path}?reason=check"), &operator).await;
        assert_eq!(thin.status(), StatusCode::UNPROCESSABLE_ENTITY, "too short");
        let made_up = app
            .get(
                &format!("{path}?incident={}", uuid::Uuid::new_v4()),
                &operator,
            )
            .await;
        assert_eq!(
            made_up.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "an incident that does not exist is no purpose"
        );
    }
    // The page: the empty form without parameters, a search without
    // purpose refused.
    let form = app.web_get("/forensics", &operator).await;
    assert_eq!(form.status(), StatusCode::OK);
    let form = form.text().await.unwrap();
    assert!(form.contains("name=\"reason\"") && form.contains("name=\"incident\""));
    let search = app.web_get("/forensics?actor=someone", &operator).await;
    assert_eq!(search.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        forensic_details(&app, &operator).await.len(),
        before,
        "nothing was answered, so no query was recorded as answered"
    );

    // The CLI refuses too, before it opens the store.
    let out = app
        .command()
        .args(["forensics", "accesses", "--data-dir"])
        .arg(&app.dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reason"));
}

#[tokio::test]
async fn operator_console_audit_record_of_a_query_carries_its_reason_or_incident() {
    let app = spawn_app().await;
    let operator = app.login("oncall@").await;
    let keller = app.login("a.keller").await;

    let answered = app
        .get(
            &format!(
                "{ACCESSES}?reason=ticket%204711%3A%20probing&actor={}",
                keller.actor_id
            ),
            &operator,
        )
        .await;
    assert_eq!(answered.status(), StatusCode::OK);
    let details = forensic_details(&app, &operator).await;
    assert!(
        details
            .last()
            .unwrap()
            .starts_with("reason=\"ticket 4711: probing\" accesses="),
        "{details:?}"
    );

    raise_alert(&app, "alert-purpose", &format!("staff:{}", keller.actor_id)).await;
    let incident = open_incident_from_alert(&app, &operator, "alert-purpose").await;
    for path in [ACCESSES, BLAST_RADIUS] {
        let answered = app
            .get(&format!("{path}?incident={incident}"), &operator)
            .await;
        assert_eq!(answered.status(), StatusCode::OK);
        let last = forensic_details(&app, &operator).await.pop().unwrap();
        assert!(last.starts_with(&format!("incident={incident} ")), "{last}");
    }
    let page = app
        .web_get(&format!("/forensics?incident={incident}"), &operator)
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("<svg") && page.contains("role=\"img\""),
        "timeline"
    );
    let last = forensic_details(&app, &operator).await.pop().unwrap();
    assert!(last.starts_with(&format!("incident={incident} ")), "{last}");

    // The CLI keeps the purpose in its own audit record.
    let out = app
        .command()
        .args([
            "forensics",
            "accesses",
            "--reason",
            "cli purpose check",
            "--format",
            "json",
            "--data-dir",
        ])
        .arg(&app.dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: i64 = sqlx::query(
        "SELECT COUNT(*) FROM audit_records WHERE actor_kind = 'operator_cli' \
         AND action = 'forensics_query' AND detail LIKE 'reason=\"cli purpose check\"%'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap()
    .get(0);
    assert_eq!(cli, 1);
}

#[tokio::test]
async fn operator_console_incidents_show_the_deadline_clock_in_both_languages() {
    let app = spawn_app().await;
    let operator = app.login("oncall@").await;
    let keller = app.login("a.keller").await;
    raise_alert(&app, "alert-clock", &format!("staff:{}", keller.actor_id)).await;
    let alerts = app
        .web_get("/alerts", &operator)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        alerts.contains("value=\"alert-clock\""),
        "the alert offers the form"
    );
    let incident = open_incident_from_alert(&app, &operator, "alert-clock").await;
    let opened: i64 = sqlx::query(
        "SELECT COUNT(*) FROM audit_records WHERE actor_id = $1 AND action = 'incident_manage' \
         AND resource_id = $2",
    )
    .bind(&operator.actor_id)
    .bind(&incident)
    .fetch_one(&app.db)
    .await
    .unwrap()
    .get(0);
    assert_eq!(opened, 1, "opening is audited, naming the operator");

    let english = app
        .web_get("/incidents", &operator)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        english.contains("71 h 59 min left") || english.contains("72 h 0 min left"),
        "{english}"
    );
    assert!(english.contains(&incident));
    let german = app
        .client
        .get(format!("{}/incidents", app.url))
        .header(
            "cookie",
            format!("{}; hippo_lang=de", app.web_cookie(&operator).await),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(german.contains("noch 71 Std. 59 Min.") || german.contains("noch 72 Std. 0 Min."));

    // Overdue once 72 hours have passed since awareness.
    sqlx::query("UPDATE incidents SET detected_at = detected_at - 80 * 3600000, deadline_at = deadline_at - 80 * 3600000 WHERE id = $1")
        .bind(&incident)
        .execute(&app.db)
        .await
        .unwrap();
    let late = app
        .web_get("/incidents", &operator)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        late.contains("overdue by 7 h 59 min") || late.contains("overdue by 8 h 0 min"),
        "{late}"
    );
}

#[tokio::test]
async fn operator_console_is_refused_to_patients_and_staff() {
    let app = spawn_app().await;
    let operator = app.login("oncall@").await;
    raise_alert(&app, "alert-denial", "staff:x").await;
    for who in ["max.schmidt", "a.keller"] {
        let session = app.login(who).await;
        for path in [
            "/incidents",
            "/forensics?reason=curious%20about%20others",
            "/alerts",
            "/tenants",
            "/switches",
        ] {
            let r = app.web_get(path, &session).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who} {path}");
        }
        let r = app
            .web_post_form(
                "/incidents",
                &session,
                &[
                    ("csrf", &app.web_csrf(&session).await),
                    ("alert_id", "alert-denial"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who} opens no incident");
        let r = app
            .get(
                &format!("{ACCESSES}?reason=curious%20about%20others"),
                &session,
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who}");
    }
    let incidents: i64 = app.count("SELECT COUNT(*) FROM incidents").await;
    assert_eq!(incidents, 0);
    // An operator opening from an alert that does not exist gets not found.
    let r = app
        .web_post_form(
            "/incidents",
            &operator,
            &[
                ("csrf", &app.web_csrf(&operator).await),
                ("alert_id", "no-such-alert"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

fn leaves(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| leaves(v, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            leaves(v, out);
        }),
        other => out.push(other.to_string()),
    }
}

#[tokio::test]
async fn operator_console_forensic_answer_contains_no_patient_name_or_value() {
    let app = spawn_app().await;
    // Reads by patients and staff put every kind of record in the log.
    for who in ["max.schmidt", "a.keller"] {
        let session = app.login(who).await;
        for finding in &session.user.finding_ids {
            app.get(&format!("/api/v1/findings/{finding}"), &session)
                .await;
        }
        app.get("/api/v1/patients", &session).await;
    }
    let operator = app.login("oncall@").await;
    let mut secret_texts: Vec<String> = Vec::new();
    for row in sqlx::query("SELECT given_name, family_name FROM patients")
        .fetch_all(&app.db)
        .await
        .unwrap()
    {
        secret_texts.push(row.get(0));
        secret_texts.push(row.get(1));
    }
    for row in sqlx::query("SELECT title FROM findings")
        .fetch_all(&app.db)
        .await
        .unwrap()
    {
        secret_texts.push(row.get(0));
    }
    let mut values: Vec<f64> = Vec::new();
    for row in sqlx::query("SELECT display, value_text, value_numeric FROM observations")
        .fetch_all(&app.db)
        .await
        .unwrap()
    {
        secret_texts.push(row.get(0));
        if let Some(text) = row.get::<Option<String>, _>(1) {
            secret_texts.push(text);
        }
        if let Some(v) = row.get::<Option<f64>, _>(2) {
            values.push(v);
        }
    }
    secret_texts.retain(|t| t.chars().count() >= 3);
    assert!(
        secret_texts.len() > 10 && !values.is_empty(),
        "the demo has names and values"
    );

    let mut answer = Vec::new();
    for path in [
        format!("{ACCESSES}?reason=privacy%20test%20of%20answers&limit=100000"),
        format!("{BLAST_RADIUS}?reason=privacy%20test%20of%20answers"),
    ] {
        let json: Value = app.get_json(&path, &operator).await;
        leaves(&json, &mut answer);
    }
    let page = app
        .web_get("/forensics?reason=privacy%20test%20of%20answers", &operator)
        .await
        .text()
        .await
        .unwrap();
    assert!(answer.len() > 100, "the answer is not empty");
    for text in &secret_texts {
        assert!(
            !answer.iter().any(|leaf| leaf.contains(text.as_str())),
            "a forensic answer names {text:?}"
        );
        assert!(
            !page.contains(&format!(">{text}<")),
            "the page names {text:?}"
        );
    }
    for leaf in &answer {
        if let Ok(number) = leaf.parse::<f64>()
            && number.fract() != 0.0
        {
            assert!(
                !values.contains(&number),
                "a forensic answer carries the value {number}"
            );
        }
    }
}

#[tokio::test]
async fn operator_console_concurrent_forensic_queries_with_purposes_are_all_answered_and_audited() {
    let app = spawn_app().await;
    let operator = app.login("oncall@").await;
    let patient = app.login("max.schmidt").await;
    let finding = patient.user.finding_ids[0];
    let queries = (0..100).map(|i| {
        let (app, operator) = (&app, &operator);
        async move {
            let path = if i % 2 == 0 { ACCESSES } else { BLAST_RADIUS };
            app.get(
                &format!("{path}?reason=load%20test%20query%20{i}&limit=50"),
                operator,
            )
            .await
            .status()
        }
    });
    let reads = (0..100).map(|_| {
        let (app, patient) = (&app, &patient);
        async move {
            app.get(&format!("/api/v1/findings/{finding}"), patient)
                .await
                .status()
        }
    });
    let (queries, reads) = tokio::join!(join_all(queries), join_all(reads));
    assert!(queries.iter().all(|s| *s == StatusCode::OK), "{queries:?}");
    assert!(reads.iter().all(|s| *s == StatusCode::OK), "{reads:?}");
    let details = forensic_details(&app, &operator).await;
    for i in 0..100 {
        let tag = format!("reason=\"load test query {i}\" ");
        assert_eq!(
            details.iter().filter(|d| d.starts_with(&tag)).count(),
            1,
            "query {i} is audited exactly once with its purpose"
        );
    }
}
