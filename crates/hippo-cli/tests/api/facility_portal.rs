//! The facility portal: the patient search (name, date of birth, patient
//! number; paged; own tenant only) and the pages in German and English.

use futures_util::future::join_all;
use reqwest::StatusCode;

use crate::helpers::{Session, TestApp, spawn_app};

/// Labor Nord's and Testzentrum Hafen's patients by family name (Erika
/// Mustermann is a patient of both, with one record in each).
const NORD_ONLY: &[&str] = &["Schmidt", "Wagner", "Becker"];
const HAFEN_ONLY: &[&str] = &["Hoffmann", "Schulz", "Fischer"];

async fn search(app: &TestApp, session: &Session, q: &str) -> String {
    let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let page = app.web_get(&format!("/patients?q={q}"), session).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.text().await.unwrap()
}

async fn patient_id(app: &TestApp, family_name: &str) -> String {
    sqlx::query_scalar("SELECT id FROM patients WHERE family_name = $1")
        .bind(family_name)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn facility_portal_search_finds_by_name_birth_date_and_number_of_the_own_tenant_only() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let petersen = app.login("j.petersen").await;

    // A name part, any case.
    let html = search(&app, &keller, "schmi").await;
    assert!(html.contains("Schmidt, Max"), "{html}");
    assert!(!html.contains("Mustermann") && !html.contains("Wagner"));
    // The other facility's patient is not found by name...
    let html = search(&app, &keller, "Hoffmann").await;
    assert!(!html.contains("Hoffmann, Leon"));
    assert!(html.contains("No patient matches this search."));
    // ...nor by date of birth, German or ISO...
    for typed in ["17.01.2001", "2001-01-17"] {
        assert!(
            !search(&app, &keller, typed)
                .await
                .contains("Hoffmann, Leon")
        );
        assert!(
            search(&app, &petersen, typed)
                .await
                .contains("Hoffmann, Leon"),
            "{typed}"
        );
    }
    // ...nor by its patient number, which finds it in its own facility.
    let leon = patient_id(&app, "Hoffmann").await;
    assert!(
        !search(&app, &keller, &leon)
            .await
            .contains("Hoffmann, Leon")
    );
    let html = search(&app, &petersen, &leon).await;
    assert!(html.contains(&format!("/patients/{leon}")));
    assert!(
        !html.contains("Mustermann"),
        "the number matches one record"
    );
    // Wildcards typed into the field are text, not patterns.
    for typed in ["%", "_", "\\"] {
        assert!(!search(&app, &keller, typed).await.contains("Schmidt, Max"));
    }
    // The empty search lists the own tenant, one page of it.
    let html = search(&app, &keller, "").await;
    for name in NORD_ONLY {
        assert!(html.contains(name), "{name}");
    }
    for name in HAFEN_ONLY {
        assert!(!html.contains(name), "{name} of the other facility");
    }
    assert!(!html.contains("More patients"));
    let past_the_end = app.web_get("/patients?page=1", &keller).await;
    assert_eq!(past_the_end.status(), StatusCode::OK);
    assert!(!past_the_end.text().await.unwrap().contains("Schmidt"));
}

#[tokio::test]
async fn facility_portal_search_pages_through_many_patients() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    for n in 0..55 {
        let fields = [
            ("csrf", app.web_csrf(&keller).await),
            ("given_name", format!("Anna{n:02}")),
            ("family_name", "Zimmermann".to_owned()),
            ("birth_date", "1990-04-01".to_owned()),
        ];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.web_post_form("/patients", &keller, &fields).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let first = search(&app, &keller, "zimmer").await;
    assert_eq!(first.matches("Zimmermann, Anna").count(), 50);
    assert!(first.contains("More patients") && first.contains("page=1\""));
    let second = app.web_get("/patients?q=zimmer&page=1", &keller).await;
    let second = second.text().await.unwrap();
    assert_eq!(second.matches("Zimmermann, Anna").count(), 5);
    assert!(second.contains("Zimmermann, Anna54") && !second.contains("Zimmermann, Anna00"));
    assert!(!second.contains("More patients"));
    // The same patients by their date of birth, as Germans type it.
    let by_birth = search(&app, &keller, "1.4.1990").await;
    assert_eq!(by_birth.matches("Zimmermann, Anna").count(), 50);
}

#[tokio::test]
async fn facility_portal_patients_page_is_for_staff_only() {
    let app = spawn_app().await;
    let erika = app.login("erika.mustermann").await;
    let page = app.web_get("/patients?q=e", &erika).await;
    assert_ne!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    for name in NORD_ONLY.iter().chain(HAFEN_ONLY) {
        assert!(!html.contains(name), "{name} shown to a patient");
    }
}

#[tokio::test]
async fn facility_portal_pages_speak_german_when_asked() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let keller_cookie = app.web_cookie(&keller).await;
    let german = |path: &str| {
        app.client
            .get(format!("{}{path}", app.url))
            .header("cookie", keller_cookie.clone())
            .header("accept-language", "de-DE,de;q=0.9")
            .send()
    };
    let html = german("/patients").await.unwrap().text().await.unwrap();
    assert!(html.contains("Suche nach Name, Geburtsdatum oder Patientennummer"));
    assert!(html.contains("Neuer Patient") && !html.contains("New patient"));
    let max = patient_id(&app, "Schmidt").await;
    let html = german(&format!("/patients/{max}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Befunde") && html.contains("Als Entwurf hochladen"));
    let html = german("/messages").await.unwrap().text().await.unwrap();
    assert!(html.contains("Posteingang") && html.contains("Letzte Nachricht"));
}

/// 200 searches at once from the staff of both facilities: every answer
/// holds only patients of the searcher's own facility.
#[tokio::test]
async fn facility_portal_concurrent_searches_stay_in_their_tenant() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let petersen = app.login("j.petersen").await;
    let queries = ["", "e", "mann", "12.08.1964", "r"];
    let requests = (0..200).map(|n| {
        let (session, foreign) = if n % 2 == 0 {
            (&keller, HAFEN_ONLY)
        } else {
            (&petersen, NORD_ONLY)
        };
        let q = queries[n % queries.len()];
        let app = &app;
        async move {
            let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
            let page = app.web_get(&format!("/patients?q={q}"), session).await;
            let status = page.status();
            let html = page.text().await.unwrap();
            (status, foreign, html)
        }
    });
    let answers = join_all(requests).await;
    assert_eq!(answers.len(), 200);
    let mut own_found = 0;
    for (status, foreign, html) in answers {
        assert_eq!(status, StatusCode::OK);
        for name in foreign {
            assert!(!html.contains(name), "{name} leaked to the other facility");
        }
        own_found += usize::from(html.contains("Mustermann, Erika"));
    }
    assert_eq!(own_found, 200, "every search finds Erika's own record");
}
