//! The declared action travels with the scope: an operation called under
//! a route that declared another action reads and writes nothing, and
//! every success is recorded under the route's action.

use hippo_core::finding::{FindingStatus, NewFinding};
use hippo_core::policy::Action;
use hippo_store::StoreError;

use crate::helpers::{PDF, ScopeActor, TestApp, login_subject, spawn_app};

async fn audit_records(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_records")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_operation_outside_its_routes_action_reads_and_writes_nothing() {
    let app = spawn_app().await;
    let clinician = ScopeActor::of(
        &app.store,
        login_subject(&app, "a.keller").await,
        "misrouted",
    )
    .await;
    let patient_id = app.user("a.keller").patient_ids[0];
    let new = NewFinding {
        title: "Misrouted".into(),
        observations: Vec::new(),
    };
    let draft = clinician
        .acting(Action::FindingUpload)
        .upload_finding(patient_id, &new, PDF)
        .await
        .unwrap();
    let before = audit_records(&app).await;

    // A route that declared "list patients" can neither release a finding
    // nor read one, nor a patient.
    let listing = clinician.acting(Action::PatientList);
    let refused = [
        listing.release(draft.id).await.map(|_| ()),
        listing.finding(draft.id).await.map(|_| ()),
        listing.patient(patient_id).await.map(|_| ()),
        clinician
            .acting(Action::FindingRead)
            .finding_pdf(draft.id)
            .await
            .map(|_| ()),
    ];
    for result in refused {
        assert!(
            matches!(result, Err(StoreError::Misrouted { .. })),
            "{result:?}"
        );
    }
    assert_eq!(audit_records(&app).await, before, "nothing was recorded");
    let unchanged = clinician
        .acting(Action::FindingRead)
        .finding(draft.id)
        .await
        .unwrap();
    assert_eq!(unchanged.summary.status, FindingStatus::Draft);

    // A patient's scope is bound the same way.
    let patient = ScopeActor::of(
        &app.store,
        login_subject(&app, "max.schmidt").await,
        "misrouted",
    )
    .await;
    let own = app.user("max.schmidt").finding_ids[0];
    let result = patient
        .acting_as_patient(Action::OwnFindingsList)
        .finding_pdf(own)
        .await
        .map(|_| ());
    assert!(
        matches!(result, Err(StoreError::Misrouted { .. })),
        "{result:?}"
    );
    let shown = patient
        .acting_as_patient(Action::FindingRead)
        .finding(own)
        .await
        .unwrap();
    assert_eq!(shown.summary.id, own);
}

#[tokio::test]
async fn every_success_is_recorded_under_the_routes_declared_action() {
    let app = spawn_app().await;
    let session = app.login("max.schmidt").await;
    let own = app.user("max.schmidt").finding_ids[0];
    let cases = [
        (format!("/api/v1/findings/{own}"), "finding_read"),
        (
            format!("/api/v1/findings/{own}/pdf"),
            "finding_pdf_download",
        ),
        ("/api/v1/findings".to_owned(), "own_findings_list"),
        ("/api/v1/access-log".to_owned(), "access_log_read"),
    ];
    for (path, action) in cases {
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM audit_records")
            .fetch_one(&app.db)
            .await
            .unwrap();
        let response = app
            .client
            .get(format!("{}{path}", app.url))
            .bearer_auth(&session.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let recorded: Vec<(String, String)> = sqlx::query_as(
            "SELECT action, outcome FROM audit_records WHERE seq > $1 AND actor_id = $2",
        )
        .bind(last)
        .bind(&session.actor_id)
        .fetch_all(&app.db)
        .await
        .unwrap();
        assert!(!recorded.is_empty(), "{path}: no record");
        for (recorded_action, outcome) in recorded {
            assert_eq!(recorded_action, action, "{path}");
            assert_eq!(outcome, "success", "{path}");
        }
    }
}

/// The store's own collection checks deny what the policy denies, even
/// for a caller that the route table would have stopped first (a lab
/// system listing patients, an assistant managing API keys): the route
/// fence is not the only one. Each refusal is recorded as a denial.
#[tokio::test]
async fn the_stores_collection_checks_deny_without_the_route_fence() {
    let app = spawn_app().await;
    let admin = ScopeActor::of(
        &app.store,
        login_subject(&app, "admin@labor-nord").await,
        "collection-checks",
    )
    .await;
    let key =
        secrecy::ExposeSecret::expose_secret(&hippo_server::auth::token::new_api_key()).to_owned();
    admin
        .acting(Action::ApiKeyCreate)
        .create_api_key("lab", &hippo_server::auth::token::hash_token(&key))
        .await
        .unwrap();
    let lab = app
        .store
        .unscoped_auth()
        .api_key_principal(&hippo_server::auth::token::hash_token(&key))
        .await
        .unwrap()
        .unwrap()
        .principal;
    let lab = ScopeActor::of_principal(&app.store, lab, "collection-checks");
    let assistant = ScopeActor::of(
        &app.store,
        login_subject(&app, "l.vogel").await,
        "collection-checks",
    )
    .await;
    let denied_before: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_records WHERE outcome = 'denied'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let refused = [
        lab.acting(Action::PatientList)
            .list_patients()
            .await
            .map(|_| ()),
        lab.acting(Action::ApiKeyList)
            .list_api_keys()
            .await
            .map(|_| ()),
        assistant
            .acting(Action::ApiKeyList)
            .list_api_keys()
            .await
            .map(|_| ()),
        assistant
            .acting(Action::ApiKeyCreate)
            .create_api_key("sneaky", "0".repeat(64).as_str())
            .await
            .map(|_| ()),
    ];
    for result in &refused {
        assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    }
    let denied_after: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_records WHERE outcome = 'denied'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(denied_after - denied_before, refused.len() as i64);
    let sneaky: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE name = 'sneaky'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(sneaky, 0);
}
