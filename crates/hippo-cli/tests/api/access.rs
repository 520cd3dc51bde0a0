//! Cross-patient and cross-tenant denials for every route of the route
//! table: foreign objects answer exactly like nonexistent ones, wrong roles
//! on collection routes get 403, and every denial is audited.

use hippo_core::PrincipalKind;
use hippo_server::declarations::{RouteSpec, Surface, Target, declarations as specs};
use reqwest::{Response, StatusCode};

use crate::helpers::{Session, TestApp, spawn_app};
use crate::requests::{Credential, send};

async fn call(app: &TestApp, spec: &RouteSpec, id: &str, session: &Session) -> Response {
    // A session token counts only on the surface it was issued for.
    let token = match spec.surface {
        Surface::Api | Surface::Fhir => session.token.clone(),
        Surface::Web => app.web_token(session).await,
    };
    send(app, spec, id, &Credential::Session(token)).await
}

struct Answer {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

async fn answer(response: Response) -> Answer {
    Answer {
        status: response.status(),
        content_type: response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default(),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

fn kind_of(session: &Session) -> PrincipalKind {
    match session.user.role.as_str() {
        "patient" => PrincipalKind::Patient,
        "clinician" => PrincipalKind::Clinician,
        "tenant_admin" => PrincipalKind::TenantAdmin,
        "operator" => PrincipalKind::Operator,
        other => panic!("unknown role {other}"),
    }
}

#[tokio::test]
async fn foreign_objects_answer_like_nonexistent_ones_on_every_item_route() {
    let app = spawn_app().await;
    // The victim: Max, a patient of Labor Nord only.
    let max = app.user("max.schmidt");
    let victim_patient = max.patient_ids[0].to_string();
    let victim_finding = max.finding_ids[0].to_string();
    let outsiders = [
        app.login("sophie.wagner").await,           // patient, same tenant
        app.login("leon.hoffmann").await,           // patient, other tenant
        app.login("j.petersen").await,              // clinician, other tenant
        app.login("admin@testzentrum-hafen").await, // admin, other tenant
    ];
    let mut checked = 0;
    // Anonymous item routes (a retrieval code's one-time PDF link) have no
    // caller to attribute a denial to; retrieval.rs covers them.
    let item_routes = specs()
        .into_iter()
        .filter(|s| s.target == Target::Item && !s.action.is_anonymous());
    for spec in &item_routes.collect::<Vec<_>>() {
        let target = if spec.path.contains("/patients/{id}") || spec.path.contains("/Patient/{id}")
        {
            &victim_patient
        } else {
            &victim_finding
        };
        for caller in &outsiders {
            let nonexistent = uuid::Uuid::new_v4().to_string();
            let before = app
                .audit_count(&caller.actor_id, target, &["not_found", "denied"])
                .await;
            let foreign = answer(call(&app, spec, target, caller).await).await;
            let after = app
                .audit_count(&caller.actor_id, target, &["not_found", "denied"])
                .await;
            let missing = answer(call(&app, spec, &nonexistent, caller).await).await;
            let who = format!("{} {} as {}", spec.method, spec.path, caller.user.email);
            assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{who}");
            assert_eq!(foreign.status, missing.status, "{who}");
            assert_eq!(foreign.content_type, missing.content_type, "{who}");
            assert_eq!(
                foreign.body, missing.body,
                "{who}: body differs from a nonexistent ID"
            );
            assert_eq!(after, before + 1, "{who}: denial not audited");
            checked += 1;
        }
    }
    println!("checked {checked} foreign-object requests");
    assert!(checked >= 4 * 12);
    // Nothing was written on Max's behalf by any outsider.
    let findings_of_max = app
        .count(&format!(
            "SELECT COUNT(*) FROM findings WHERE patient_id = '{victim_patient}'"
        ))
        .await;
    // His released findings (the demo's history) and one draft.
    let seeded = app.user("max.schmidt").finding_ids.len() + 1;
    assert_eq!(
        findings_of_max as usize, seeded,
        "Max has his released findings and one draft"
    );
}

#[tokio::test]
async fn wrong_roles_on_collection_routes_get_403_and_are_audited() {
    let app = spawn_app().await;
    let sessions = [
        app.login("max.schmidt").await,
        app.login("a.keller").await,
        app.login("admin@labor-nord").await,
    ];
    let mut checked = 0;
    for spec in specs()
        .iter()
        .filter(|s| s.target == Target::Collection && !s.action.is_anonymous())
    {
        for session in &sessions {
            if spec.allowed.contains(&kind_of(session)) {
                continue;
            }
            let before = app
                .audit_count(&session.actor_id, spec.path, &["denied"])
                .await;
            let response = call(&app, spec, "", session).await;
            let who = format!("{} {} as {}", spec.method, spec.path, session.user.email);
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{who}");
            let after = app
                .audit_count(&session.actor_id, spec.path, &["denied"])
                .await;
            assert_eq!(after, before + 1, "{who}: denial not audited");
            checked += 1;
        }
    }
    println!("checked {checked} role denials");
    assert!(checked >= 6);
}

#[tokio::test]
async fn tenant_admins_may_not_perform_clinical_acts() {
    let app = spawn_app().await;
    let admin = app.login("admin@labor-nord").await;
    let draft = app
        .user("a.keller")
        .finding_ids
        .iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>();
    for id in draft {
        let r = app
            .post_empty(&format!("/api/v1/findings/{id}/release"), &admin)
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM findings WHERE status = 'draft'")
            .await,
        2,
        "no draft was released by an admin"
    );
}

#[tokio::test]
async fn malformed_and_sequential_ids_answer_like_missing_ones() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let missing = app
        .get(&format!("/api/v1/findings/{}", uuid::Uuid::new_v4()), &max)
        .await;
    let missing_status = missing.status();
    let missing_body = missing.bytes().await.unwrap();
    for probe in [
        "1",
        "2",
        "00000000-0000-0000-0000-000000000001",
        "..%2F..%2Fetc",
    ] {
        let r = app.get(&format!("/api/v1/findings/{probe}"), &max).await;
        assert_eq!(r.status(), missing_status, "{probe}");
        assert_eq!(r.bytes().await.unwrap(), missing_body, "{probe}");
    }
    assert!(
        app.audit_count(&max.actor_id, "malformed_id", &["not_found"])
            .await
            >= 2
    );
}
