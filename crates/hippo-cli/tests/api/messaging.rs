//! Messaging (issue 11, point 1): threads between a facility and one of
//! its patients, both ways; read state and unread counts; the staff inbox
//! with filters, assignment, closing and retraction; the patient's view
//! across facilities; attachments typed by their bytes, downloaded never
//! inline; bodies and attachments sealed at rest; every access in the
//! patient's access history; bad input refused with nothing stored; and
//! hundreds of clients at once.

use futures_util::future::join_all;
use reqwest::{StatusCode, multipart};
use serde_json::{Value, json};

use crate::helpers::{PDF, Session, TestApp, contains, files_under, spawn_app};

const PNG: &[u8] = include_bytes!("../../../hippo-core/src/file_kind_fixtures/tile.png");
const JPEG: &[u8] = include_bytes!("../../../hippo-core/src/file_kind_fixtures/tile.jpg");

/// Start a thread as `session` (staff: to `patient_id`; patient: to `tenant_id`).
async fn start(app: &TestApp, session: &Session, body: &Value) -> Value {
    let response = app.post_json("/api/v1/threads", session, body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "start thread");
    response.json().await.unwrap()
}

async fn staff_thread(app: &TestApp, staff: &Session, patient: &str, body: &str) -> String {
    let thread = start(
        app,
        staff,
        &json!({"subject": "Ihr Befund", "body": body, "patient_id": patient}),
    )
    .await;
    thread["id"].as_str().unwrap().to_owned()
}

async fn post_json(
    app: &TestApp,
    session: &Session,
    thread: &str,
    body: &str,
) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/threads/{thread}/messages"),
        session,
        &json!({"body": body}),
    )
    .await
}

async fn post_form(
    app: &TestApp,
    session: &Session,
    thread: &str,
    form: multipart::Form,
) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/threads/{thread}/messages", app.url))
        .bearer_auth(&session.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

fn file(bytes: &[u8], name: &str, declared: &str) -> multipart::Part {
    multipart::Part::bytes(bytes.to_vec())
        .file_name(name.to_owned())
        .mime_str(declared)
        .unwrap()
}

fn max_patient(app: &TestApp) -> String {
    app.user("max.schmidt").patient_ids[0].to_string()
}

fn tenant(app: &TestApp, n: usize) -> String {
    app.world.tenants[n].id.to_string()
}

async fn messages_stored(app: &TestApp) -> (i64, i64, i64) {
    (
        app.count("SELECT COUNT(*) FROM messages").await,
        app.count("SELECT COUNT(*) FROM message_attachments").await,
        app.count("SELECT COUNT(*) FROM blobs WHERE kind = 'message_attachment'")
            .await,
    )
}

#[tokio::test]
async fn staff_and_patient_write_both_ways_with_unread_counts() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let max = app.login("max.schmidt").await;
    let thread = staff_thread(&app, &keller, &max_patient(&app), "Bitte melden Sie sich.").await;

    // The patient sees it, unread, with the facility's name.
    let page = app.get_json("/api/v1/threads", &max).await;
    assert_eq!(page["unread_total"], 1);
    let row = &page["threads"][0];
    assert_eq!(row["id"], thread.as_str());
    assert_eq!(row["unread"], 1);
    assert_eq!(row["subject"], "Ihr Befund");
    assert_eq!(row["facility"]["name"], "Labor Nord");
    assert!(row["patient_name"].is_null(), "patients get no name field");

    // Opening it marks the facility's message read for the patient side.
    let opened = app
        .get_json(&format!("/api/v1/threads/{thread}"), &max)
        .await;
    assert_eq!(opened["messages"][0]["body"], "Bitte melden Sie sich.");
    assert_eq!(opened["messages"][0]["author_side"], "staff");
    let page = app.get_json("/api/v1/threads", &max).await;
    assert_eq!(page["unread_total"], 0);
    assert_eq!(page["threads"][0]["unread"], 0);

    // The patient answers twice; staff see two unread, then none.
    for text in ["Danke, ich rufe an.", "Morgen um 9?"] {
        let r = post_json(&app, &max, &thread, text).await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let inbox = app.get_json("/api/v1/threads", &keller).await;
    assert_eq!(inbox["unread_total"], 2);
    assert_eq!(inbox["threads"][0]["unread"], 2);
    assert_eq!(inbox["threads"][0]["patient_name"], "Max Schmidt");
    let detail = app
        .get_json(&format!("/api/v1/threads/{thread}"), &keller)
        .await;
    let messages = detail["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[2]["author_name"], "Max Schmidt");
    assert!(
        messages[0]["read_at"].is_string(),
        "the patient read staff's message"
    );
    let inbox = app.get_json("/api/v1/threads?unread=true", &keller).await;
    assert_eq!(inbox["unread_total"], 0);
    assert!(inbox["threads"].as_array().unwrap().is_empty());

    // A patient starts a thread with a facility of theirs.
    let own = start(
        &app,
        &max,
        &json!({"subject": "Frage", "body": "Ist mein Wert normal?", "tenant_id": tenant(&app, 0)}),
    )
    .await;
    assert_eq!(own["status"], "open");
    let inbox = app.get_json("/api/v1/threads", &keller).await;
    assert_eq!(inbox["unread_total"], 1);
    assert_eq!(inbox["threads"][0]["id"], own["id"]);
}

#[tokio::test]
async fn a_patient_sees_threads_of_all_their_facilities_and_no_others() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let petersen = app.login("j.petersen").await;
    let erika = app.user("erika.mustermann");
    let (north, harbour) = (
        erika.patient_ids[0].to_string(),
        erika.patient_ids[1].to_string(),
    );
    let a = staff_thread(&app, &keller, &north, "Nord").await;
    let b = staff_thread(&app, &petersen, &harbour, "Hafen").await;
    staff_thread(&app, &keller, &max_patient(&app), "für Max").await;
    let session = app.login("erika.mustermann").await;
    let page = app.get_json("/api/v1/threads", &session).await;
    let ids: Vec<&str> = page["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{page}");
    assert!(ids.contains(&a.as_str()) && ids.contains(&b.as_str()));
    assert_eq!(page["unread_total"], 2);
    // Each facility's inbox holds its own thread only.
    let north_inbox = app.get_json("/api/v1/threads", &keller).await;
    assert!(!north_inbox.to_string().contains(&b));
    let harbour_inbox = app.get_json("/api/v1/threads", &petersen).await;
    assert!(harbour_inbox.to_string().contains(&b) && !harbour_inbox.to_string().contains(&a));
    // Staff filters are for staff.
    let r = app.get("/api/v1/threads?status=open", &session).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_inbox_filters_assigns_closes_and_pages() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let vogel = app.login("l.vogel").await;
    let admin = app.login("admin@labor-nord").await;
    let max = app.login("max.schmidt").await;
    let mut threads = Vec::new();
    for n in 0..5 {
        threads
            .push(staff_thread(&app, &keller, &max_patient(&app), &format!("Nachricht {n}")).await);
    }
    // Assign one to Vogel, one to Keller herself.
    let vogel_id = app.actor_id(&vogel.user.email).await;
    let r = app
        .post_json(
            &format!("/api/v1/threads/{}/assign", threads[0]),
            &keller,
            &json!({"staff_id": vogel_id}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let assigned: Value = r.json().await.unwrap();
    assert_eq!(assigned["assigned_name"], "Lea Vogel");
    let keller_id = keller.actor_id.clone();
    app.post_json(
        &format!("/api/v1/threads/{}/assign", threads[1]),
        &keller,
        &json!({"staff_id": keller_id}),
    )
    .await;
    let mine = app.get_json("/api/v1/threads?assigned=me", &vogel).await;
    let mine: Vec<&Value> = mine["threads"].as_array().unwrap().iter().collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], threads[0].as_str());
    // Another tenant's staff member cannot be assignee; 422, nothing changed.
    let petersen_id = app.actor_id(&app.user("j.petersen").email).await;
    let r = app
        .post_json(
            &format!("/api/v1/threads/{}/assign", threads[2]),
            &keller,
            &json!({"staff_id": petersen_id}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let assigned = app
        .count("SELECT COUNT(*) FROM threads WHERE assigned_to IS NOT NULL")
        .await;
    assert_eq!(assigned, 2);
    // Unassign.
    let r = app
        .post_json(
            &format!("/api/v1/threads/{}/assign", threads[1]),
            &keller,
            &json!({"staff_id": null}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // Close one: it leaves the open filter and takes no message (409).
    let r = app
        .post_empty(&format!("/api/v1/threads/{}/close", threads[3]), &keller)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let open = app.get_json("/api/v1/threads?status=open", &keller).await;
    assert_eq!(open["threads"].as_array().unwrap().len(), 4);
    let closed = app.get_json("/api/v1/threads?status=closed", &keller).await;
    assert_eq!(closed["threads"][0]["id"], threads[3].as_str());
    let r = post_json(&app, &max, &threads[3], "Noch eine Frage").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "a closed thread takes no new messages"
    );
    let r = app
        .post_empty(&format!("/api/v1/threads/{}/close", threads[3]), &keller)
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // Tenant admins read the inbox but do not write or manage.
    let r = app
        .post_empty(&format!("/api/v1/threads/{}/close", threads[4]), &admin)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/api/v1/threads", &admin).await.status(),
        StatusCode::OK
    );

    // Pages of two, newest first, no thread twice, all five in the end.
    let mut seen = Vec::new();
    let mut path = "/api/v1/threads?limit=2".to_owned();
    loop {
        let page = app.get_json(&path, &keller).await;
        for t in page["threads"].as_array().unwrap() {
            let id = t["id"].as_str().unwrap().to_owned();
            if threads.contains(&id) {
                seen.push(id);
            }
        }
        match page["next_before"].as_str() {
            Some(before) => path = format!("/api/v1/threads?limit=2&before={before}"),
            None => break,
        }
    }
    let mut expected = threads.clone();
    expected.reverse();
    assert_eq!(seen, expected);
    let r = app.get("/api/v1/threads?before=garbage", &keller).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_retracted_thread_disappears_for_the_patient_and_takes_nothing() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let max = app.login("max.schmidt").await;
    let thread = staff_thread(&app, &keller, &max_patient(&app), "Versehentlich gesendet").await;
    let r = post_form(
        &app,
        &keller,
        &thread,
        multipart::Form::new()
            .text("body", "Anhang")
            .part("attachment", file(PDF, "b.pdf", "application/pdf")),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let posted: Value = r.json().await.unwrap();
    let attachment = posted["attachments"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/api/v1/attachments/{attachment}"), &max)
            .await
            .status(),
        StatusCode::OK
    );
    let r = app
        .post_empty(&format!("/api/v1/threads/{thread}/retract"), &keller)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = app.get_json("/api/v1/threads", &max).await;
    assert!(page["threads"].as_array().unwrap().is_empty());
    assert_eq!(
        page["unread_total"], 0,
        "a retracted thread counts for nothing"
    );
    for path in [
        format!("/api/v1/threads/{thread}"),
        format!("/api/v1/attachments/{attachment}"),
    ] {
        assert_eq!(
            app.get(&path, &max).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        post_json(&app, &max, &thread, "?").await.status(),
        StatusCode::NOT_FOUND
    );
    let r = post_json(&app, &keller, &thread, "noch was").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // Staff still see it, as retracted.
    let detail = app
        .get_json(&format!("/api/v1/threads/{thread}"), &keller)
        .await;
    assert_eq!(detail["status"], "retracted");
    assert_eq!(detail["messages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn foreign_threads_and_attachments_answer_like_missing_ones() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let petersen = app.login("j.petersen").await;
    let max = app.login("max.schmidt").await;
    let sophie = app.login("sophie.wagner").await;
    let leon = app.user("leon.hoffmann").patient_ids[0].to_string();
    let threads_before = app.count("SELECT COUNT(*) FROM threads").await;
    let thread = staff_thread(&app, &keller, &max_patient(&app), "Nur für Max").await;
    let posted: Value = post_form(
        &app,
        &keller,
        &thread,
        multipart::Form::new()
            .text("body", "Bild")
            .part("attachment", file(PNG, "p.png", "image/png")),
    )
    .await
    .json()
    .await
    .unwrap();
    let attachment = posted["attachments"][0]["id"].as_str().unwrap().to_owned();
    let missing = uuid::Uuid::new_v4().to_string();
    let mut bodies = std::collections::BTreeSet::new();
    for (who, session) in [
        ("other patient", &sophie),
        ("other tenant", &petersen),
        ("nobody", &max),
    ] {
        let paths = if who == "nobody" {
            vec![
                format!("/api/v1/threads/{missing}"),
                format!("/api/v1/attachments/{missing}"),
            ]
        } else {
            vec![
                format!("/api/v1/threads/{thread}"),
                format!("/api/v1/attachments/{attachment}"),
            ]
        };
        for path in paths {
            let r = app.get(&path, session).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{who}: {path}");
            bodies.insert(r.bytes().await.unwrap().to_vec());
        }
        if who != "nobody" {
            let r = post_json(&app, session, &thread, "Hallo?").await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{who} posts");
            bodies.insert(r.bytes().await.unwrap().to_vec());
        }
    }
    assert_eq!(bodies.len(), 1, "one not-found body for all");
    // Sophie cannot open a thread with the test centre; Keller cannot write
    // to the test centre's patient.
    let r = app
        .post_json(
            "/api/v1/threads",
            &sophie,
            &json!({"subject": "x", "body": "y", "tenant_id": tenant(&app, 1)}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .post_json(
            "/api/v1/threads",
            &keller,
            &json!({"subject": "x", "body": "y", "patient_id": leon}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM threads").await,
        threads_before + 1
    );
    // Nothing of Max's thread in Sophie's or Petersen's lists.
    for session in [&sophie, &petersen] {
        let page = app.get_json("/api/v1/threads", session).await;
        assert!(!page.to_string().contains(&thread));
    }
    // The denials are recorded.
    assert!(
        app.audit_count(&sophie.actor_id, &thread, &["denied", "not_found"])
            .await
            >= 1
    );
}

#[tokio::test]
async fn attachments_are_typed_by_their_bytes_and_downloaded_never_inline() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let max = app.login("max.schmidt").await;
    let thread = staff_thread(&app, &keller, &max_patient(&app), "Unterlagen").await;
    // A PNG declared as a PDF named .html is stored as what it is.
    let form = multipart::Form::new()
        .text("body", "Drei Dateien")
        .part(
            "attachment",
            file(PDF, "Befund \"März\".pdf", "application/pdf"),
        )
        .part("attachment", file(PNG, "../../etc/scan.html", "text/html"))
        .part(
            "attachment",
            file(JPEG, "foto.jpeg", "application/octet-stream"),
        );
    let r = post_form(&app, &max, &thread, form).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let posted: Value = r.json().await.unwrap();
    let attachments = posted["attachments"].as_array().unwrap();
    let expected = [
        ("application/pdf", "Befund__M_rz.pdf", PDF),
        ("image/png", "scan.png", PNG),
        ("image/jpeg", "foto.jpg", JPEG),
    ];
    for (a, (media, name, bytes)) in attachments.iter().zip(expected) {
        assert_eq!(a["media_type"], media);
        assert_eq!(a["file_name"], name);
        for session in [&keller, &max] {
            let r = app
                .get(
                    &format!("/api/v1/attachments/{}", a["id"].as_str().unwrap()),
                    session,
                )
                .await;
            assert_eq!(r.status(), StatusCode::OK);
            let h = r.headers();
            assert_eq!(h["content-type"], media);
            assert_eq!(
                h["content-disposition"],
                format!("attachment; filename=\"{name}\"").as_str()
            );
            assert_eq!(h["x-content-type-options"], "nosniff");
            assert_eq!(r.bytes().await.unwrap().as_ref(), bytes);
        }
        // The browser download is the same, also never inline.
        let r = app
            .web_get(&format!("/attachments/{}", a["id"].as_str().unwrap()), &max)
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment;")
        );
    }
}

#[tokio::test]
async fn bad_messages_are_refused_with_a_reason_and_nothing_is_stored() {
    let app = test_app_with_small_attachments().await;
    let keller = app.login("a.keller").await;
    let thread = staff_thread(&app, &keller, &max_patient(&app), "Start").await;
    let before = messages_stored(&app).await;
    let mut polyglot = b"%PDF-1.4\n<html><script>alert(1)</script></html>\n".to_vec();
    polyglot.extend_from_slice(&PDF[9..]);
    let mut exe = b"MZ\x90\x00".to_vec();
    exe.extend_from_slice(&[0u8; 200]);
    exe.extend_from_slice(b"%PDF-1.4 ");
    let cases: Vec<(&str, multipart::Form, StatusCode)> = vec![
        (
            "empty body",
            multipart::Form::new().text("body", "  \n "),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "oversized body",
            multipart::Form::new().text("body", "x".repeat(20_001)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "no body",
            multipart::Form::new().part("attachment", file(PDF, "a.pdf", "application/pdf")),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "five attachments",
            (0..5).fold(multipart::Form::new().text("body", "fünf"), |f, n| {
                f.part("attachment", file(PNG, &format!("{n}.png"), "image/png"))
            }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "oversized attachment",
            multipart::Form::new().text("body", "groß").part(
                "attachment",
                file(&vec![0x25; 64 * 1024], "big.pdf", "application/pdf"),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "html",
            multipart::Form::new().text("body", "html").part(
                "attachment",
                file(b"<html><body>hi</body></html>", "a.pdf", "application/pdf"),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "svg",
            multipart::Form::new().text("body", "svg").part(
                "attachment",
                file(
                    b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>",
                    "a.png",
                    "image/png",
                ),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "exe with %PDF- inside",
            multipart::Form::new()
                .text("body", "exe")
                .part("attachment", file(&exe, "a.pdf", "application/pdf")),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "html/pdf polyglot",
            multipart::Form::new()
                .text("body", "poly")
                .part("attachment", file(&polyglot, "a.pdf", "application/pdf")),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "one good, one forbidden",
            multipart::Form::new()
                .text("body", "gemischt")
                .part("attachment", file(PDF, "ok.pdf", "application/pdf"))
                .part(
                    "attachment",
                    file(b"MZ\x90\x00not a pdf", "x.pdf", "application/pdf"),
                ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "unknown part",
            multipart::Form::new()
                .text("body", "x")
                .text("subject", "y"),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, form, status) in cases {
        let r = post_form(&app, &keller, &thread, form).await;
        assert_eq!(r.status(), status, "{what}");
        let body: Value = r.json().await.unwrap();
        assert!(
            !body["error"]["message"].as_str().unwrap().is_empty(),
            "{what}: a reason"
        );
        assert_eq!(
            messages_stored(&app).await,
            before,
            "{what}: nothing stored"
        );
    }
    // JSON: empty and oversized bodies, unknown fields, wrong content type.
    for (body, status) in [
        (json!({"body": ""}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"body": "y".repeat(20_001)}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"body": "x", "extra": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"text": "x"}), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let r = app
            .post_json(
                &format!("/api/v1/threads/{thread}/messages"),
                &keller,
                &body,
            )
            .await;
        assert_eq!(r.status(), status, "{body}");
    }
    let r = app
        .client
        .post(format!("{}/api/v1/threads/{thread}/messages", app.url))
        .bearer_auth(&keller.token)
        .body("body=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // New threads: empty subject, multi-line subject, missing patient.
    let threads_before = app.count("SELECT COUNT(*) FROM threads").await;
    for body in [
        json!({"subject": "", "body": "x", "patient_id": max_patient(&app)}),
        json!({"subject": "a\nb", "body": "x", "patient_id": max_patient(&app)}),
        json!({"subject": "s", "body": "", "patient_id": max_patient(&app)}),
        json!({"subject": "s", "body": "x"}),
    ] {
        let r = app.post_json("/api/v1/threads", &keller, &body).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM threads").await,
        threads_before
    );
    assert_eq!(messages_stored(&app).await, before);
}

/// The demo world with attachments limited to 32 KB, so that an oversized
/// one stays small.
async fn test_app_with_small_attachments() -> TestApp {
    crate::helpers::test_app()
        .configure(|c| c.messaging.max_attachment_bytes = 32 * 1024)
        .spawn()
        .await
}

#[tokio::test]
async fn bodies_and_attachments_are_sealed_at_rest() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let max = app.login("max.schmidt").await;
    let subject_marker = "BETREFF-MARKER-7f3a";
    let body_marker = "NACHRICHT-MARKER-91c2";
    let file_marker = "ANHANG-MARKER-4d8e";
    let name_marker = "DATEINAME-MARKER-2b6f";
    let thread = start(
        &app,
        &keller,
        &json!({"subject": subject_marker, "body": body_marker, "patient_id": max_patient(&app)}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pdf = hippo_core::file_kind::minimal_pdf(file_marker);
    let r = post_form(
        &app,
        &max,
        &thread,
        multipart::Form::new()
            .text("body", format!("Antwort {body_marker}"))
            .part(
                "attachment",
                file(&pdf, &format!("{name_marker}.pdf"), "application/pdf"),
            ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // Readable through the API...
    let detail = app
        .get_json(&format!("/api/v1/threads/{thread}"), &keller)
        .await;
    assert!(detail.to_string().contains(body_marker));
    assert!(detail.to_string().contains(name_marker));
    // ...and absent from the database, its WAL and the blob files.
    let mut stored = database_bytes(&app);
    for path in files_under(&app.dir.join("blobs")) {
        stored.extend(std::fs::read(path).unwrap());
    }
    assert!(!stored.is_empty());
    for marker in [subject_marker, body_marker, file_marker, name_marker] {
        let m = marker.as_bytes();
        assert!(!contains(&stored, m), "{marker} in plain text at rest");
        assert!(
            !contains(&stored, hex::encode(m).as_bytes()),
            "{marker} as hex at rest"
        );
    }
}

/// The SQLite file and its WAL, or a dump of the PostgreSQL database.
fn database_bytes(app: &TestApp) -> Vec<u8> {
    if let Some(url) = &app.database_url {
        let dump = std::process::Command::new("pg_dump")
            .env("PGOPTIONS", "-c hippo.tenant=*")
            .args(["--data-only", "--enable-row-security", url])
            .output()
            .unwrap();
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        return dump.stdout;
    }
    let mut bytes = std::fs::read(app.dir.join("hippo.db")).unwrap();
    if let Ok(wal) = std::fs::read(app.dir.join("hippo.db-wal")) {
        bytes.extend(wal);
    }
    bytes
}

#[tokio::test]
async fn every_messaging_access_shows_in_the_patients_access_history() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let max = app.login("max.schmidt").await;
    let thread = staff_thread(&app, &keller, &max_patient(&app), "Historie").await;
    let posted: Value = post_form(
        &app,
        &keller,
        &thread,
        multipart::Form::new()
            .text("body", "Anhang")
            .part("attachment", file(PDF, "a.pdf", "application/pdf")),
    )
    .await
    .json()
    .await
    .unwrap();
    let attachment = posted["attachments"][0]["id"].as_str().unwrap().to_owned();
    app.get_json("/api/v1/threads", &keller).await;
    app.get_json(&format!("/api/v1/threads/{thread}"), &keller)
        .await;
    app.get(&format!("/api/v1/attachments/{attachment}"), &keller)
        .await;
    app.post_empty(&format!("/api/v1/threads/{thread}/close"), &keller)
        .await;
    let history = app.get_json("/api/v1/access-log", &max).await;
    let actions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "clinician" && e["outcome"] == "success")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "thread_create",
        "message_post",
        "thread_list",
        "thread_read",
        "attachment_download",
        "thread_close",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    // Sophie's history shows nothing of it.
    let sophie = app.login("sophie.wagner").await;
    let hers = app.get_json("/api/v1/access-log", &sophie).await;
    assert!(!hers.to_string().contains(&thread));
}

#[tokio::test]
async fn the_web_pages_show_inbox_thread_and_reply_with_attachments() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let max = app.login("max.schmidt").await;
    let patient = max_patient(&app);
    let messages_before = app.count("SELECT COUNT(*) FROM messages").await;
    let form = app
        .web_get(&format!("/messages/new?patient={patient}"), &keller)
        .await;
    assert_eq!(form.status(), StatusCode::OK);
    let r = app
        .web_post_form(
            "/messages",
            &keller,
            &[
                ("csrf", &app.web_csrf(&keller).await),
                ("subject", "Termin"),
                ("body", "Bitte kommen Sie vorbei."),
                ("patient_id", &patient),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let inbox = app
        .web_get("/messages", &keller)
        .await
        .text()
        .await
        .unwrap();
    assert!(inbox.contains("Termin") && inbox.contains("Max Schmidt"));
    let mine = app.web_get("/messages", &max).await.text().await.unwrap();
    assert!(mine.contains("Termin") && mine.contains("1 unread"));
    let page = app.web_get(&location, &max).await.text().await.unwrap();
    assert!(
        page.contains("Bitte kommen Sie vorbei.")
            && page.contains("enctype=\"multipart/form-data\"")
    );
    // A reply with a file, by form; then without CSRF, refused.
    let reply = |csrf: String| {
        multipart::Form::new()
            .text("csrf", csrf)
            .text("body", "Gern, anbei mein Scan.")
            .part("attachment", file(PNG, "scan.png", "image/png"))
            .part(
                "attachment",
                multipart::Part::bytes(Vec::new()).file_name(""),
            )
    };
    let r = app
        .client
        .post(format!("{}{location}/reply", app.url))
        .header("cookie", app.web_cookie(&max).await)
        .multipart(reply(app.web_csrf(&max).await))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .client
        .post(format!("{}{location}/reply", app.url))
        .header("cookie", app.web_cookie(&max).await)
        .multipart(reply("forged".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM messages").await,
        messages_before + 2
    );
    let page = app.web_get(&location, &keller).await.text().await.unwrap();
    assert!(page.contains("scan.png") && page.contains("/attachments/"));
    // Staff close it from the page.
    let r = app
        .web_post_form(
            &format!("{location}/close"),
            &keller,
            &[("csrf", &app.web_csrf(&keller).await)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = app.web_get(&location, &max).await.text().await.unwrap();
    assert!(page.contains("takes no new messages"));
    // A patient's new-thread form lists their facilities only.
    let erika = app.login("erika.mustermann").await;
    let form = app
        .web_get("/messages/new", &erika)
        .await
        .text()
        .await
        .unwrap();
    assert!(form.contains("Labor Nord") && form.contains("Testzentrum Hafen"));
    let form = app
        .web_get("/messages/new", &max)
        .await
        .text()
        .await
        .unwrap();
    assert!(form.contains("Labor Nord") && !form.contains("Testzentrum Hafen"));
}

/// Hundreds of clients at once: every patient of the demo world has a
/// thread; 260 posts and reads interleave. All succeed, each post has its
/// audit record, and every thread holds its own patient's messages only.
#[tokio::test]
async fn hundreds_of_concurrent_posts_and_reads_keep_threads_apart() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let petersen = app.login("j.petersen").await;
    let people = [
        "erika.mustermann",
        "max.schmidt",
        "sophie.wagner",
        "jonas.becker",
        "leon.hoffmann",
        "mia.schulz",
        "paul.fischer",
    ];
    let mut patients = Vec::new();
    for person in people {
        let session = app.login(person).await;
        let user = app.user(person);
        let record = user.patient_ids[0].to_string();
        // Erika's first record is at Labor Nord; Leon, Mia, Paul are at the test centre.
        let staff = if ["leon.hoffmann", "mia.schulz", "paul.fischer"].contains(&person) {
            &petersen
        } else {
            &keller
        };
        let thread = staff_thread(&app, staff, &record, &format!("Start {person}")).await;
        patients.push((person, session, thread));
    }
    let posts_before = app
        .count("SELECT COUNT(*) FROM audit_records WHERE action = 'message_post' AND outcome = 'success'")
        .await;
    let requests = (0..260).map(|n| {
        let (person, session, thread) = &patients[n % patients.len()];
        let app = &app;
        async move {
            if n % 2 == 0 {
                let r = post_json(app, session, thread, &format!("{person} #{n}")).await;
                (n, r.status(), None)
            } else {
                let r = app.get(&format!("/api/v1/threads/{thread}"), session).await;
                let status = r.status();
                (n, status, Some(r.json::<Value>().await.unwrap()))
            }
        }
    });
    let results = join_all(requests).await;
    for (n, status, body) in &results {
        let expected = if n % 2 == 0 {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        assert_eq!(*status, expected, "request {n}");
        if let Some(body) = body {
            let (person, _, _) = &patients[n % patients.len()];
            for m in body["messages"].as_array().unwrap() {
                let text = m["body"].as_str().unwrap();
                assert!(
                    text.starts_with(person) || text.starts_with("Start "),
                    "{person} read {text}"
                );
                assert!(
                    !text.starts_with("Start ") || text == format!("Start {person}"),
                    "{person} read {text}"
                );
            }
        }
    }
    let posts = app
        .count("SELECT COUNT(*) FROM audit_records WHERE action = 'message_post' AND outcome = 'success'")
        .await;
    assert_eq!(posts - posts_before, 130, "one audit record per post");
    // Every thread holds exactly its patient's 130/7 posts and nothing else.
    for (person, session, thread) in &patients {
        let detail = app
            .get_json(&format!("/api/v1/threads/{thread}"), session)
            .await;
        let messages = detail["messages"].as_array().unwrap();
        let own = messages
            .iter()
            .filter(|m| m["body"].as_str().unwrap().starts_with(person))
            .count();
        assert_eq!(
            own + 1,
            messages.len(),
            "{person}: foreign messages in the thread"
        );
        let index = people.iter().position(|p| p == person).unwrap();
        let expected = (0..260)
            .filter(|n| n % 2 == 0 && n % people.len() == index)
            .count();
        assert_eq!(own, expected, "{person}");
    }
}

/// The two fences hold for messaging as for findings: with the scoped SQL
/// off the policy alone denies, with the policy off the SQL alone does,
/// and with both off the same requests leak (so the test would notice).
#[tokio::test]
async fn each_fence_alone_keeps_foreign_threads_and_attachments_out() {
    for (scoping_off, policy_off) in [(true, false), (false, true), (true, true)] {
        let app = crate::helpers::test_app()
            .fences(crate::helpers::Fences {
                bypass_store_scoping: scoping_off,
                bypass_policy: policy_off,
                // On PostgreSQL row-level security would deny first.
                bypass_row_level_security: true,
                ..Default::default()
            })
            .spawn()
            .await;
        // Jonas's demo thread at Labor Nord, with the report attached.
        let thread = app.user("jonas.becker").thread_ids[0].to_string();
        let attachment: String =
            sqlx::query_scalar("SELECT id FROM message_attachments WHERE thread_id = $1")
                .bind(&thread)
                .fetch_one(&app.db)
                .await
                .unwrap();
        let mut statuses = Vec::new();
        let mut listed = false;
        for outsider in ["sophie.wagner", "leon.hoffmann", "j.petersen"] {
            let session = app.login(outsider).await;
            for path in [
                format!("/api/v1/threads/{thread}"),
                format!("/api/v1/attachments/{attachment}"),
            ] {
                statuses.push(app.get(&path, &session).await.status());
            }
            let page = app.get_json("/api/v1/threads?limit=200", &session).await;
            listed |= page.to_string().contains(&thread);
        }
        if scoping_off && policy_off {
            assert!(statuses.contains(&StatusCode::OK), "{statuses:?}");
            assert!(listed, "with both fences off the thread leaks into lists");
        } else {
            assert!(
                statuses.iter().all(|s| *s == StatusCode::NOT_FOUND),
                "scoping off {scoping_off}, policy off {policy_off}: {statuses:?}"
            );
            assert!(!listed, "a foreign thread in a list");
        }
    }
}

/// A post whose audit record cannot be written fails closed: 503, and
/// neither the message, its attachment rows nor the sealed blob remain.
#[tokio::test]
async fn a_post_without_its_audit_record_leaves_nothing_behind() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let thread = staff_thread(&app, &keller, &max_patient(&app), "Ausfall").await;
    let blob_files = |app: &TestApp| {
        files_under(&app.dir.join("blobs"))
            .iter()
            .filter(|p| p.to_string_lossy().contains("message_attachment"))
            .count()
    };
    let (before, files_before) = (messages_stored(&app).await, blob_files(&app));
    app.break_audit_log().await;
    let r = post_form(
        &app,
        &keller,
        &thread,
        multipart::Form::new()
            .text("body", "mit Anhang")
            .part("attachment", file(PDF, "a.pdf", "application/pdf")),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    app.repair_audit_log().await;
    assert_eq!(messages_stored(&app).await, before);
    assert_eq!(
        blob_files(&app),
        files_before,
        "the sealed blob was removed"
    );
    // Repaired, the same post goes through.
    let r = post_json(&app, &keller, &thread, "wieder da").await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// The `messaging` service switch: off everywhere, staff and patients get
/// 503 and nothing is posted; off for one facility, a patient of two
/// still reaches the other one, and the switched-off facility's threads
/// leave their list; on again, everything answers.
#[tokio::test]
async fn the_messaging_switch_stops_messaging_and_nothing_else() {
    let app = spawn_app().await;
    let operator = app.login("oncall@").await;
    let keller = app.login("a.keller").await;
    let petersen = app.login("j.petersen").await;
    let erika = app.user("erika.mustermann");
    let north = staff_thread(&app, &keller, &erika.patient_ids[0].to_string(), "Nord").await;
    let harbour = staff_thread(&app, &petersen, &erika.patient_ids[1].to_string(), "Hafen").await;
    let erika = app.login("erika.mustermann").await;
    let switch = |state: &str, tenant: Option<String>| {
        let mut body = json!({"service": "messaging", "state": state, "reason": "test"});
        if let Some(tenant) = tenant {
            body["tenant_id"] = json!(tenant);
        }
        if state == "off" {
            body["message"] = json!("Nachrichten sind gleich wieder da.");
        }
        body
    };
    // Waits (bounded) until `path` as `session` answers `status`.
    let eventually = async |path: String, session: &Session, status: StatusCode| {
        for _ in 0..50 {
            if app.get(&path, session).await.status() == status {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{path} never answered {status}");
    };
    let r = app
        .post_json("/api/v1/switches", &operator, &switch("off", None))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    eventually(
        "/api/v1/threads".into(),
        &keller,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    let before = messages_stored(&app).await;
    assert_eq!(
        post_json(&app, &keller, &north, "x").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        post_json(&app, &erika, &harbour, "x").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        app.get(&format!("/api/v1/threads/{north}"), &erika)
            .await
            .status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        app.web_get("/messages", &keller).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        messages_stored(&app).await,
        before,
        "nothing posted while off"
    );
    // Findings are not messaging.
    assert_eq!(
        app.get("/api/v1/findings", &erika).await.status(),
        StatusCode::OK
    );
    let r = app
        .post_json("/api/v1/switches", &operator, &switch("on", None))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    eventually("/api/v1/threads".into(), &keller, StatusCode::OK).await;

    // Off for Labor Nord only.
    let lab = tenant(&app, 0);
    let r = app
        .post_json("/api/v1/switches", &operator, &switch("off", Some(lab)))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    eventually(
        "/api/v1/threads".into(),
        &keller,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert_eq!(
        app.get("/api/v1/threads", &petersen).await.status(),
        StatusCode::OK
    );
    let page = app.get_json("/api/v1/threads", &erika).await;
    assert!(
        page.to_string().contains(&harbour) && !page.to_string().contains(&north),
        "{page}"
    );
    assert_eq!(
        app.get(&format!("/api/v1/threads/{north}"), &erika)
            .await
            .status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        post_json(&app, &erika, &harbour, "Hafen geht")
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        post_json(&app, &erika, &north, "Nord nicht").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let r = app
        .post_json(
            "/api/v1/switches",
            &operator,
            &switch("on", Some(tenant(&app, 0))),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    eventually(format!("/api/v1/threads/{north}"), &erika, StatusCode::OK).await;
}
