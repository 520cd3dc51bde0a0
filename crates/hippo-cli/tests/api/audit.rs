//! Audit before answer (invariant 5): every access is recorded with its
//! context, records are append-only, and without a log nothing is served.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;

use crate::helpers::spawn_app;

#[tokio::test]
async fn reads_are_recorded_with_full_context() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let finding = max.user.finding_ids[0].to_string();
    let response = app
        .client
        .get(format!("{}/api/v1/findings/{finding}", app.url))
        .bearer_auth(&max.token)
        .header("user-agent", "hippo-test/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let row = sqlx::query(
        "SELECT * FROM audit_records WHERE action = 'finding_read' AND resource_id = $1 AND outcome = 'success'",
    )
    .bind(&finding)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let get = |c: &str| row.get::<Option<String>, _>(c);
    assert_eq!(get("actor_kind").as_deref(), Some("patient"));
    assert_eq!(get("actor_id"), Some(max.actor_id.clone()));
    assert_eq!(get("resource_kind").as_deref(), Some("finding"));
    assert_eq!(get("patient_id"), Some(max.user.patient_ids[0].to_string()));
    assert_eq!(get("tenant_id"), Some(app.world.tenants[0].id.to_string()));
    assert_eq!(get("request_id"), Some(request_id));
    assert_eq!(get("client_addr").as_deref(), Some("127.0.0.1"));
    assert_eq!(get("user_agent").as_deref(), Some("hippo-test/1.0"));
    assert_eq!(get("build").as_deref(), Some("test-build"));
    // Hashed into the log; the encoding itself is re-made from the columns
    // when needed, not stored (a third of a record's bytes).
    assert_eq!(row.get::<Vec<u8>, _>("leaf_hash").len(), 32);
    assert!(row.try_get::<Vec<u8>, _>("canonical").is_err());
}

#[tokio::test]
async fn the_server_names_every_request_whatever_the_client_sends() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let finding = max.user.finding_ids[0].to_string();
    let forged = "<script>alert(1)</script>";
    let mut named = Vec::new();
    for _ in 0..2 {
        let response = app
            .client
            .get(format!("{}/api/v1/findings/{finding}", app.url))
            .bearer_auth(&max.token)
            .header("x-request-id", forged)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "server ID, got {id}");
        named.push(id);
    }
    assert_ne!(
        named[0], named[1],
        "a repeated client ID stays two requests"
    );
    let recorded: Vec<String> = sqlx::query_scalar(
        "SELECT request_id FROM audit_records WHERE action = 'finding_read' AND resource_id = $1",
    )
    .bind(&finding)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(recorded.len(), 2);
    for id in &named {
        assert!(recorded.contains(id), "{id} not in {recorded:?}");
    }
    let forged_anywhere: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_records WHERE request_id LIKE '%script%' OR detail LIKE '%script%'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(forged_anywhere, 0, "the client's ID is not in the log");
}

#[tokio::test]
async fn audit_records_cannot_be_changed_or_removed() {
    let app = spawn_app().await;
    assert!(
        sqlx::query("UPDATE audit_records SET outcome = 'success'")
            .execute(&app.db)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM audit_records")
            .execute(&app.db)
            .await
            .is_err()
    );
    assert!(app.count("SELECT COUNT(*) FROM audit_records").await > 0);
}

#[tokio::test]
async fn without_an_audit_log_nothing_is_served_or_written() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let clinician = app.login("a.keller").await;
    let finding = max.user.finding_ids[0].to_string();
    // Simulate a failing log device: every append is refused.
    app.break_audit_log().await;

    let read = app.get(&format!("/api/v1/findings/{finding}"), &max).await;
    assert_eq!(read.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = read.json().await.unwrap();
    assert_eq!(body["error"]["code"], "audit_unavailable");
    assert!(!body.to_string().contains("observations"));
    let pdf = app
        .get(&format!("/api/v1/findings/{finding}/pdf"), &max)
        .await;
    assert_eq!(pdf.status(), StatusCode::SERVICE_UNAVAILABLE);
    let denied = app
        .get(&format!("/api/v1/findings/{}", uuid::Uuid::new_v4()), &max)
        .await;
    assert_eq!(denied.status(), StatusCode::SERVICE_UNAVAILABLE);

    let patients_before = app.count("SELECT COUNT(*) FROM patients").await;
    let create = app
        .post_json(
            "/api/v1/patients",
            &clinician,
            &json!({"given_name": "A", "family_name": "B", "birth_date": "1990-01-01"}),
        )
        .await;
    assert_eq!(create.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM patients").await,
        patients_before
    );
    let login = app.login_raw(&max.user.email, &max.user.password).await;
    assert_eq!(login.status(), StatusCode::SERVICE_UNAVAILABLE);

    app.repair_audit_log().await;
    assert_eq!(
        app.get(&format!("/api/v1/findings/{finding}"), &max)
            .await
            .status(),
        StatusCode::OK
    );
}
