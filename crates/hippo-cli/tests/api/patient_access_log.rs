//! The facility's access log of one patient record (issue 12 point 4):
//! tenant admins see who (staff by name, lab systems by key name, the
//! patient themself) did what to the record's data, grouped; never the
//! same person's records at another facility nor another facility's
//! staff; foreign and unknown records answer alike; reading it is audited.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, upload_with_key};

/// Erika Mustermann's record at one facility (she is a patient of both).
async fn erika_at(app: &TestApp, facility: &str) -> String {
    sqlx::query_scalar(
        "SELECT p.id FROM patients p JOIN tenants t ON t.id = p.tenant_id \
         WHERE p.family_name = 'Mustermann' AND t.name = $1",
    )
    .bind(facility)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn tenant_of_record(app: &TestApp, record: &str) -> String {
    sqlx::query_scalar("SELECT tenant_id FROM audit_records WHERE id = $1")
        .bind(record)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn patient_access_log_shows_who_did_what_at_the_own_facility_only() {
    let app = spawn_app().await;
    let nord_record = erika_at(&app, "Labor Nord").await;
    let hafen_record = erika_at(&app, "Testzentrum Hafen").await;
    let keller = app.login("a.keller").await;
    let petersen = app.login("j.petersen").await;
    let erika = app.login("erika.mustermann").await;
    let admin = app.login("admin@labor-nord").await;

    // Each facility's clinician reads their own record of Erika; she lists
    // her findings (one record per facility); Labor Nord's lab system
    // submits a finding for her.
    let r = app
        .get(&format!("/api/v1/patients/{nord_record}"), &keller)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .get(&format!("/api/v1/patients/{hafen_record}"), &petersen)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/findings", &erika).await.status(),
        StatusCode::OK
    );
    let key: Value = app
        .post_json(
            "/api/v1/api-keys",
            &admin,
            &json!({"name": "Analysator Halle 2"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let uploaded = upload_with_key(&app, key["secret"].as_str().unwrap(), &nord_record).await;
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    // Petersen probes the Nord record: not found, and not Nord's business
    // to see another facility's staff.
    let r = app
        .get(&format!("/api/v1/patients/{nord_record}"), &petersen)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let log = app
        .get_json(
            &format!("/api/v1/patients/{nord_record}/access-log"),
            &admin,
        )
        .await;
    assert_eq!(log["patient"]["id"], nord_record.as_str());
    let accesses = log["accesses"].as_array().unwrap();
    let by = |actor: &str, name: Option<&str>, action: &str| {
        accesses.iter().any(|a| {
            a["actor"] == actor
                && name.is_none_or(|n| a["actor_name"] == n)
                && a["action"] == action
        })
    };
    assert!(
        by("clinician", Some("Dr. Anna Keller"), "patient_read"),
        "{log}"
    );
    assert!(by("patient", None, "own_findings_list"), "{log}");
    assert!(
        by("lab_system", Some("Analysator Halle 2"), "finding_upload"),
        "{log}"
    );
    let text = log.to_string();
    assert!(
        !text.contains("Petersen"),
        "another facility's staff: {text}"
    );
    assert!(!text.contains(&hafen_record));
    for access in accesses {
        let tenant = tenant_of_record(&app, access["id"].as_str().unwrap()).await;
        assert_eq!(tenant, app.world.tenants[0].id.to_string(), "{access}");
    }

    // The page says the same, in German, grouped.
    let html = app
        .client
        .get(format!("{}/patients/{nord_record}/access-log", app.url))
        .header("cookie", app.web_cookie(&admin).await)
        .header("accept-language", "de")
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), StatusCode::OK);
    let html = html.text().await.unwrap();
    assert!(html.contains("Zugriffsprotokoll: Mustermann, Erika"));
    assert!(
        html.contains("Dr. Anna Keller (Ärztin/Arzt) </td>")
            || html.contains("Dr. Anna Keller (Ärztin/Arzt)</td>")
    );
    assert!(html.contains("die Patientin / der Patient selbst"));
    assert!(html.contains("Analysator Halle 2 (Laborsystem)"));
    assert!(html.contains("hat einen Befund hochgeladen"));
    assert!(!html.contains("Petersen"));
    assert_eq!(html.matches("<h1>").count(), 1);
    // The patient page links to it for the admin only.
    let patient_page = app
        .web_get(&format!("/patients/{nord_record}"), &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(patient_page.contains(&format!("href=\"/patients/{nord_record}/access-log\"")));
    let clinician_page = app
        .web_get(&format!("/patients/{nord_record}"), &keller)
        .await
        .text()
        .await
        .unwrap();
    assert!(!clinician_page.contains("/access-log\""));
}

#[tokio::test]
async fn patient_access_log_of_another_tenant_or_patient_is_not_found() {
    let app = spawn_app().await;
    let nord_record = erika_at(&app, "Labor Nord").await;
    let hafen_record = erika_at(&app, "Testzentrum Hafen").await;
    let nord_admin = app.login("admin@labor-nord").await;
    let hafen_admin = app.login("admin@testzentrum-hafen").await;
    let unknown = uuid::Uuid::new_v4().to_string();

    let body_of = |r: reqwest::Response| async move {
        let status = r.status();
        let body = r.text().await.unwrap();
        // The request ID differs per request; the rest must not.
        let body: Value = serde_json::from_str(&body).unwrap();
        (status, body["error"].clone())
    };
    let foreign = body_of(
        app.get(
            &format!("/api/v1/patients/{hafen_record}/access-log"),
            &nord_admin,
        )
        .await,
    )
    .await;
    let absent = body_of(
        app.get(
            &format!("/api/v1/patients/{unknown}/access-log"),
            &nord_admin,
        )
        .await,
    )
    .await;
    assert_eq!(foreign.0, StatusCode::NOT_FOUND);
    assert_eq!(foreign, absent, "foreign and unknown answer alike");
    let r = app
        .get(
            &format!("/api/v1/patients/{nord_record}/access-log"),
            &hafen_admin,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .web_get(&format!("/patients/{hafen_record}/access-log"), &nord_admin)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(!r.text().await.unwrap().contains("Mustermann"));

    // Clinicians, assistants, patients (even about their own record) and
    // operators do not read it.
    for who in ["a.keller", "l.vogel", "erika.mustermann", "oncall"] {
        let session = app.login(who).await;
        let r = app
            .get(
                &format!("/api/v1/patients/{nord_record}/access-log"),
                &session,
            )
            .await;
        assert!(r.status().is_client_error(), "{who}: {}", r.status());
        assert!(!r.text().await.unwrap().contains("accesses"), "{who}");
    }
    // The refused tries are recorded, as denied or not found.
    assert!(
        app.count(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'patient_access_log_read' \
             AND outcome IN ('denied', 'not_found')"
        )
        .await
            >= 3
    );
}

#[tokio::test]
async fn patient_access_log_reading_it_is_audited_and_shown_in_it() {
    let app = spawn_app().await;
    let nord_record = erika_at(&app, "Labor Nord").await;
    let admin = app.login("admin@labor-nord").await;
    let path = format!("/api/v1/patients/{nord_record}/access-log");
    assert_eq!(app.get(&path, &admin).await.status(), StatusCode::OK);
    let recorded = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'patient_access_log_read' \
             AND outcome = 'success' AND patient_id = '{nord_record}' AND actor_id = '{}'",
            admin.actor_id
        ))
        .await;
    assert_eq!(recorded, 1);
    let log = app.get_json(&path, &admin).await;
    assert!(
        log["accesses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "patient_access_log_read" && a["actor_name"] == "Thomas Brandt"),
        "{log}"
    );
    // Erika sees in her own history that the facility looked.
    let erika = app.login("erika.mustermann").await;
    let own = app.get_json("/api/v1/access-log", &erika).await.to_string();
    assert!(own.contains("patient_access_log_read"), "{own}");
}

#[tokio::test]
async fn patient_access_log_answers_many_concurrent_admins_each_with_their_own_facility() {
    let app = spawn_app().await;
    let nord_record = erika_at(&app, "Labor Nord").await;
    let hafen_record = erika_at(&app, "Testzentrum Hafen").await;
    let nord = app.login("admin@labor-nord").await;
    let hafen = app.login("admin@testzentrum-hafen").await;
    const REQUESTS: usize = 150;
    let answers = join_all((0..REQUESTS).map(|n| {
        let (app, nord, hafen, nord_record, hafen_record) =
            (&app, &nord, &hafen, &nord_record, &hafen_record);
        async move {
            // Own record, or the other facility's record of the same person.
            let (session, record, own) = match n % 4 {
                0 => (nord, nord_record, true),
                1 => (hafen, hafen_record, true),
                2 => (nord, hafen_record, false),
                _ => (hafen, nord_record, false),
            };
            let r = app
                .get(&format!("/api/v1/patients/{record}/access-log"), session)
                .await;
            (own, record, r.status(), r.text().await.unwrap())
        }
    }))
    .await;
    for (own, record, status, body) in answers {
        if own {
            assert_eq!(status, StatusCode::OK);
            let log: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(log["patient"]["id"], record.as_str());
        } else {
            assert_eq!(status, StatusCode::NOT_FOUND);
            assert!(!body.contains("Mustermann"));
        }
    }
}
