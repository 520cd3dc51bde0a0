//! FHIR `Communication` (issue 13 point 2): one resource per message, a
//! patient's own messages and nothing else, a facility's messages of its
//! own patients, foreign IDs like nonexistent ones, reading that marks
//! nothing read, retracted threads gone for patients, filters and paging,
//! attachments fetched under the same token, audit before the answer, and
//! hundreds of clients at once.

use std::collections::BTreeSet;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{all_pages, entries, expect_outcome, fhir_get, ok};
use crate::helpers::{PDF, Session, TestApp, spawn_app};

/// Start a thread from staff to `patient`; answers the thread's ID.
async fn staff_thread(app: &TestApp, staff: &Session, patient: &str, body: &str) -> String {
    let response = app
        .post_json(
            "/api/v1/threads",
            staff,
            &json!({"subject": "Ihr Befund", "body": body, "patient_id": patient}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let thread: Value = response.json().await.unwrap();
    thread["id"].as_str().unwrap().to_owned()
}

async fn reply(app: &TestApp, session: &Session, thread: &str, body: &str) {
    let response = app
        .post_json(
            &format!("/api/v1/threads/{thread}/messages"),
            session,
            &json!({"body": body}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

fn bodies(resources: &[Value]) -> Vec<String> {
    resources
        .iter()
        .map(|c| {
            c["payload"][0]["contentString"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

async fn unread_total(app: &TestApp, session: &Session) -> i64 {
    app.get_json("/api/v1/threads", session).await["unread_total"]
        .as_i64()
        .unwrap()
}

fn ids_of(resources: &[Value]) -> BTreeSet<String> {
    resources
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every page of `query` without the messages seen before the test wrote
/// its own (the demo's conversations), in order.
async fn fresh(
    app: &TestApp,
    query: &str,
    session: &Session,
    before: &BTreeSet<String>,
) -> Vec<Value> {
    all_pages(app, query, session)
        .await
        .into_iter()
        .filter(|m| !before.contains(m["id"].as_str().unwrap()))
        .collect()
}

/// Keller (Labor Nord) writes to Max and to Sophie, Max answers once;
/// Petersen (the other facility) writes to Leon. `seen` holds the
/// messages everybody could read before (the demo's).
struct Conversations {
    keller: Session,
    petersen: Session,
    max: Session,
    sophie: Session,
    max_thread: String,
    seen: BTreeSet<String>,
}

async fn conversations(app: &TestApp) -> Conversations {
    let keller = app.login("a.keller").await;
    let petersen = app.login("j.petersen").await;
    let max = app.login("max.schmidt").await;
    let sophie = app.login("sophie.wagner").await;
    let mut seen = BTreeSet::new();
    for session in [&keller, &petersen, &max, &sophie] {
        seen.extend(ids_of(&all_pages(app, "Communication", session).await));
    }
    let leon = app.user("leon.hoffmann").patient_ids[0].to_string();
    let max_patient = max.user.patient_ids[0].to_string();
    let sophie_patient = sophie.user.patient_ids[0].to_string();
    let max_thread = staff_thread(app, &keller, &max_patient, "Bitte melden Sie sich.").await;
    reply(app, &max, &max_thread, "Danke, ich rufe an.").await;
    staff_thread(app, &keller, &sophie_patient, "Für Sophie.").await;
    staff_thread(app, &petersen, &leon, "Für Leon.").await;
    Conversations {
        keller,
        petersen,
        max,
        sophie,
        max_thread,
        seen,
    }
}

/// Every message `session` gets for `query` is of its own patient records.
async fn only_own(app: &TestApp, query: &str, session: &Session) {
    let own: BTreeSet<String> = session
        .user
        .patient_ids
        .iter()
        .map(|p| format!("Patient/{p}"))
        .collect();
    for message in all_pages(app, query, session).await {
        let subject = message["subject"]["reference"].as_str().unwrap();
        assert!(own.contains(subject), "{}: {subject}", session.user.email);
    }
}

#[tokio::test]
async fn fhir_communication_shows_own_messages_only_and_marks_nothing_read() {
    let app = spawn_app().await;
    let c = conversations(&app).await;
    let max_patient = format!("Patient/{}", c.max.user.patient_ids[0]);
    let max_unread = unread_total(&app, &c.max).await;
    let keller_unread = unread_total(&app, &c.keller).await;
    assert!(max_unread >= 1 && keller_unread >= 1);
    for patient in [&c.max, &c.sophie] {
        only_own(&app, "Communication", patient).await;
    }

    // Max: exactly his two messages, oldest first on request, each the
    // answer to the one before.
    let mine = fresh(&app, "Communication?_sort=sent&_count=1", &c.max, &c.seen).await;
    assert_eq!(
        bodies(&mine),
        ["Bitte melden Sie sich.", "Danke, ich rufe an."]
    );
    for message in &mine {
        assert_eq!(message["resourceType"], "Communication");
        assert_eq!(message["subject"]["reference"], max_patient.as_str());
        assert_eq!(message["status"], "completed");
        assert_eq!(message["topic"]["text"], "Ihr Befund");
        assert!(message["sent"].is_string());
    }
    let (first, second) = (&mine[0], &mine[1]);
    assert_eq!(first["recipient"][0]["reference"], max_patient.as_str());
    assert_eq!(first["sender"]["display"], "Dr. Anna Keller");
    assert_eq!(second["sender"]["reference"], max_patient.as_str());
    assert_eq!(second["recipient"][0]["display"], "Labor Nord");
    assert!(first.get("inResponseTo").is_none());
    assert_eq!(
        second["inResponseTo"][0]["reference"],
        format!("Communication/{}", first["id"].as_str().unwrap()).as_str()
    );
    // Newest first by default.
    let newest = fresh(&app, "Communication", &c.max, &c.seen).await;
    assert_eq!(
        bodies(&newest),
        ["Danke, ich rufe an.", "Bitte melden Sie sich."]
    );
    let read = ok(
        &app,
        &format!("Communication/{}", first["id"].as_str().unwrap()),
        &c.max,
    )
    .await;
    assert_eq!(&read, first);

    // Nothing was marked read by any of that, on either side.
    assert_eq!(unread_total(&app, &c.max).await, max_unread);
    assert_eq!(unread_total(&app, &c.keller).await, keller_unread);
    assert!(first.get("received").is_none(), "Max never opened it");

    // Sophie sees only hers; the clinician of the other facility only Leon's.
    let hers = fresh(&app, "Communication", &c.sophie, &c.seen).await;
    assert_eq!(bodies(&hers), ["Für Sophie."]);
    let harbour = fresh(&app, "Communication", &c.petersen, &c.seen).await;
    assert_eq!(bodies(&harbour), ["Für Leon."]);

    // Keller: every message of Labor Nord, or one patient's on request.
    let north: BTreeSet<String> = bodies(&fresh(&app, "Communication", &c.keller, &c.seen).await)
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = [
        "Bitte melden Sie sich.",
        "Danke, ich rufe an.",
        "Für Sophie.",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(north, expected);
    let for_max = fresh(
        &app,
        &format!("Communication?subject={max_patient}"),
        &c.keller,
        &c.seen,
    )
    .await;
    assert_eq!(
        bodies(&for_max),
        ["Danke, ich rufe an.", "Bitte melden Sie sich."]
    );
    assert_eq!(for_max[1]["sender"]["display"], "Dr. Anna Keller");
    assert_eq!(for_max[0]["sender"]["display"], "Max Schmidt");

    // Once Max opened the thread in the portal, the message is received.
    app.get_json(&format!("/api/v1/threads/{}", c.max_thread), &c.max)
        .await;
    let received = ok(
        &app,
        &format!("Communication/{}", first["id"].as_str().unwrap()),
        &c.max,
    )
    .await;
    assert!(received["received"].is_string());
}

#[tokio::test]
async fn fhir_communication_foreign_ids_read_like_nonexistent_ones_and_retraction_hides() {
    let app = spawn_app().await;
    let c = conversations(&app).await;
    let maxs = fresh(&app, "Communication", &c.max, &c.seen).await;
    let max_message = maxs[0]["id"].as_str().unwrap().to_owned();
    let missing = uuid::Uuid::new_v4().to_string();
    for outsider in [&c.sophie, &c.petersen] {
        let foreign = fhir_get(
            &app,
            &format!("Communication/{max_message}"),
            Some(&outsider.token),
        )
        .await;
        let nobody = fhir_get(
            &app,
            &format!("Communication/{missing}"),
            Some(&outsider.token),
        )
        .await;
        let who = &outsider.user.email;
        expect_outcome(&foreign, StatusCode::NOT_FOUND, "not-found", who);
        assert_eq!(foreign.body, nobody.body, "{who}");
        // A search naming Max reads like one naming nobody.
        let named = ok(
            &app,
            &format!("Communication?patient={}", c.max.user.patient_ids[0]),
            outsider,
        )
        .await;
        assert!(entries(&named, "match").is_empty(), "{who}");
    }
    let malformed = fhir_get(&app, "Communication/not-an-id", Some(&c.max.token)).await;
    expect_outcome(&malformed, StatusCode::NOT_FOUND, "not-found", "malformed");
    for bad in [
        "Communication?date=2024",
        "Communication?_sort=-date",
        "Communication?sent=ne2024",
    ] {
        let answer = fhir_get(&app, bad, Some(&c.max.token)).await;
        expect_outcome(&answer, StatusCode::BAD_REQUEST, "invalid", bad);
    }
    let anonymous = fhir_get(&app, "Communication", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // Sent-time windows: everything was sent today, nothing before 2000.
    let old = ok(&app, "Communication?sent=lt2000-01-01", &c.max).await;
    assert!(entries(&old, "match").is_empty());
    let all = all_pages(&app, "Communication", &c.max).await.len();
    let recent = all_pages(&app, "Communication?sent=ge2000", &c.max).await;
    assert_eq!(recent.len(), all);
    assert!(all >= 2);

    // A retracted thread is gone for the patient, entered-in-error for staff.
    let retracted = app
        .post_empty(
            &format!("/api/v1/threads/{}/retract", c.max_thread),
            &c.keller,
        )
        .await;
    assert_eq!(retracted.status(), StatusCode::OK);
    let left = ids_of(&all_pages(&app, "Communication", &c.max).await);
    assert!(
        ids_of(&maxs).is_disjoint(&left),
        "the retracted thread's messages are gone"
    );
    let gone = fhir_get(
        &app,
        &format!("Communication/{max_message}"),
        Some(&c.max.token),
    )
    .await;
    expect_outcome(&gone, StatusCode::NOT_FOUND, "not-found", "retracted");
    let staff_view = ok(&app, &format!("Communication/{max_message}"), &c.keller).await;
    assert_eq!(staff_view["status"], "entered-in-error");
}

#[tokio::test]
async fn fhir_communication_attachments_are_fetched_under_the_same_token() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let max = app.login("max.schmidt").await;
    let thread = staff_thread(
        &app,
        &keller,
        &max.user.patient_ids[0].to_string(),
        "Anbei.",
    )
    .await;
    let form = reqwest::multipart::Form::new()
        .text("body", "Ihr Befund als PDF")
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(PDF.to_vec())
                .file_name("befund.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let posted = app
        .client
        .post(format!("{}/api/v1/threads/{thread}/messages", app.url))
        .bearer_auth(&keller.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::CREATED);
    let newest = ok(&app, "Communication?_count=1", &max).await;
    let message = entries(&newest, "match")[0].clone();
    assert_eq!(message["topic"]["text"], "Ihr Befund");
    assert_eq!(message["payload"][0]["contentString"], "Ihr Befund als PDF");
    let attachment = &message["payload"][1]["contentAttachment"];
    assert_eq!(attachment["contentType"], "application/pdf");
    assert_eq!(attachment["title"], "befund.pdf");
    assert_eq!(attachment["size"], PDF.len());
    let url = attachment["url"].as_str().unwrap();
    let pdf = app
        .client
        .get(url)
        .bearer_auth(&max.token)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.bytes().await.unwrap().as_ref(), PDF);
    let sophie = app.login("sophie.wagner").await;
    let foreign = app
        .client
        .get(url)
        .bearer_auth(&sophie.token)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn fhir_communication_reads_are_audited_before_the_answer_and_fail_closed() {
    let app = spawn_app().await;
    let c = conversations(&app).await;
    let message = fresh(&app, "Communication", &c.max, &c.seen).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let actor = c.max.actor_id.clone();
    let before = app.audit_count(&actor, &message, &["success"]).await;
    ok(&app, &format!("Communication/{message}"), &c.max).await;
    assert_eq!(
        app.audit_count(&actor, &message, &["success"]).await,
        before + 1,
        "one record naming the message"
    );
    app.break_audit_log().await;
    for path in [
        format!("Communication/{message}"),
        "Communication".to_owned(),
    ] {
        let answer = fhir_get(&app, &path, Some(&c.max.token)).await;
        expect_outcome(&answer, StatusCode::SERVICE_UNAVAILABLE, "transient", &path);
        assert!(!answer.body.to_string().contains("melden"), "{path}");
    }
    app.repair_audit_log().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fhir_communication_hundreds_of_concurrent_readers_each_see_only_their_own() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let mut patients = Vec::new();
    for prefix in [
        "max.schmidt",
        "sophie.wagner",
        "jonas.becker",
        "erika.mustermann",
    ] {
        let session = app.login(prefix).await;
        let patient = session.user.patient_ids[0].to_string();
        staff_thread(&app, &keller, &patient, &format!("Nur für {prefix}")).await;
        patients.push(session);
    }
    let searches = (0..300).map(|i| {
        let session = &patients[i % patients.len()];
        let app = &app;
        async move {
            (
                session,
                fhir_get(app, "Communication?_count=100", Some(&session.token)).await,
            )
        }
    });
    let mut served = 0;
    for (session, answer) in join_all(searches).await {
        if answer.status == StatusCode::SERVICE_UNAVAILABLE {
            continue; // shed under load: allowed, never a foreign answer
        }
        assert_eq!(answer.status, StatusCode::OK);
        let own: BTreeSet<String> = session
            .user
            .patient_ids
            .iter()
            .map(|p| format!("Patient/{p}"))
            .collect();
        let prefix = session.user.email.split('@').next().unwrap();
        let mut own_message_seen = false;
        for message in entries(&answer.body, "match") {
            let subject = message["subject"]["reference"].as_str().unwrap();
            assert!(own.contains(subject), "{}: {subject}", session.user.email);
            let body = message["payload"][0]["contentString"]
                .as_str()
                .unwrap_or("");
            own_message_seen |= body == format!("Nur für {prefix}");
            assert!(
                !body.starts_with("Nur für") || body.ends_with(prefix),
                "{body}"
            );
        }
        assert!(own_message_seen, "{}", session.user.email);
        served += 1;
    }
    assert!(served >= 100, "only {served} of 300 served");
}
