//! Anti-enumeration: many not-found answers in a short window get 429 and
//! a "probing" audit record; honest use never trips it.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Session, TestApp, test_app};

/// Everything an honest user does with their own data, once.
async fn browse_own_data(app: &TestApp, session: &Session) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    if session.user.role == "patient" {
        statuses.push(app.get("/api/v1/findings", session).await.status());
        statuses.push(app.web_get("/findings", session).await.status());
    } else {
        statuses.push(app.get("/api/v1/patients", session).await.status());
        statuses.push(app.web_get("/patients", session).await.status());
        for p in &session.user.patient_ids {
            statuses.push(
                app.get(&format!("/api/v1/patients/{p}"), session)
                    .await
                    .status(),
            );
            statuses.push(
                app.get(&format!("/api/v1/patients/{p}/findings"), session)
                    .await
                    .status(),
            );
            statuses.push(
                app.web_get(&format!("/patients/{p}"), session)
                    .await
                    .status(),
            );
        }
    }
    for f in &session.user.finding_ids {
        statuses.push(
            app.get(&format!("/api/v1/findings/{f}"), session)
                .await
                .status(),
        );
        statuses.push(
            app.get(&format!("/api/v1/findings/{f}/pdf"), session)
                .await
                .status(),
        );
        statuses.push(
            app.web_get(&format!("/findings/{f}"), session)
                .await
                .status(),
        );
    }
    statuses
}

#[tokio::test]
async fn honest_use_never_trips_the_probe_detector() {
    // The production default: 20 not-found answers per minute.
    let app = test_app()
        .configure(|c| c.not_found_limit = 20)
        .spawn()
        .await;
    let mut requests = 0;
    for user in app.world.users.clone() {
        if user.role == "operator" {
            continue;
        }
        let session = app.login(&user.email).await;
        for _ in 0..3 {
            let statuses = browse_own_data(&app, &session).await;
            requests += statuses.len();
            assert!(
                statuses.iter().all(|s| s.is_success()),
                "{}: {statuses:?}",
                user.email
            );
        }
    }
    assert!(requests > 300, "{requests}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_records WHERE outcome = 'probing'")
            .await,
        0
    );
}

#[tokio::test]
async fn many_not_found_lookups_get_429_and_a_probing_record() {
    let app = test_app()
        .configure(|c| c.not_found_limit = 20)
        .spawn()
        .await;
    let prober = app.login("sophie.wagner").await;
    for _ in 0..20 {
        let r = app
            .get(
                &format!("/api/v1/findings/{}", uuid::Uuid::new_v4()),
                &prober,
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    // Now even a request for her own data is refused for the window.
    let own = prober.user.finding_ids[0];
    let r = app.get(&format!("/api/v1/findings/{own}"), &prober).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_not_found");
    let recorded = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE outcome = 'probing' AND actor_id = '{}'",
            prober.actor_id
        ))
        .await;
    assert_eq!(recorded, 1);
    // Other users are unaffected.
    let max = app.login("max.schmidt").await;
    let r = app
        .get(
            &format!("/api/v1/findings/{}", max.user.finding_ids[0]),
            &max,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}
