//! The patient portal's pages: findings list with the "new" mark, the
//! finding page with values, trend charts and PDF links, and that no page
//! ever shows another patient's data.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PDF, Session, TestApp, spawn_app, upload_form};

/// Upload and release an HbA1c finding for `patient` with `value`.
async fn released_hba1c(app: &TestApp, staff: &Session, patient: &str, value: f64) -> String {
    let metadata = json!({
        "title": "HbA1c-Kontrolle",
        "observations": [
            {"code": "4548-4", "display": "HbA1c", "value": value, "unit": "%",
             "reference_low": 4.0, "reference_high": 5.6}
        ]
    });
    let response = app
        .upload(patient, staff, upload_form(&metadata, PDF))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let released = app
        .post_empty(&format!("/api/v1/findings/{id}/release"), staff)
        .await;
    assert_eq!(released.status(), StatusCode::OK);
    id
}

async fn page(app: &TestApp, path: &str, session: &Session, lang: &str) -> (StatusCode, String) {
    let response = app
        .client
        .get(format!("{}{path}", app.url))
        .header("cookie", app.web_cookie(session).await)
        .header("accept-language", lang)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The finding IDs a page links to.
fn linked_findings(html: &str) -> Vec<String> {
    html.split("href=\"/findings/")
        .skip(1)
        .map(|rest| rest.chars().take(36).collect())
        .collect()
}

#[tokio::test]
async fn patient_portal_list_marks_findings_new_until_opened() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let (status, list) = page(&app, "/findings", &max, "de").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("<h1>Meine Befunde</h1>"), "{list}");
    let ids = max.user.finding_ids.clone();
    assert!(ids.len() >= 8, "several findings per analyte");
    assert_eq!(list.matches("badge new").count(), ids.len(), "all unread");
    // Dates in German form, over more than a year.
    let years: std::collections::BTreeSet<&str> = list
        .split("<td>")
        .filter_map(|cell| {
            let date = cell.get(..10)?;
            (date.as_bytes()[2] == b'.' && date.as_bytes()[5] == b'.').then(|| &date[6..10])
        })
        .collect();
    assert!(
        years.len() >= 2,
        "findings span more than one year: {years:?}"
    );

    let opened = ids[0].to_string();
    let (status, _) = page(&app, &format!("/findings/{opened}"), &max, "de").await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = page(&app, "/findings", &max, "en").await;
    assert!(list.contains("<h1>My findings</h1>"));
    assert_eq!(list.matches("badge new").count(), ids.len() - 1);
    let row = list
        .split("<tr")
        .find(|row| row.contains(&opened))
        .expect("opened finding listed");
    assert!(!row.contains("badge new"), "{row}");

    // Staff reading the finding does not make it "read" for the patient.
    let keller = app.login("a.keller").await;
    let unopened = ids[1].to_string();
    let (status, _) = page(&app, &format!("/findings/{unopened}"), &keller, "de").await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = page(&app, "/findings", &max, "en").await;
    assert_eq!(list.matches("badge new").count(), ids.len() - 1);
}

#[tokio::test]
async fn patient_portal_chart_shows_only_the_patients_own_values() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let petersen = app.login("j.petersen").await;
    let max = app.login("max.schmidt").await;
    let sophie = app.login("sophie.wagner").await;
    let erika = app.login("erika.mustermann").await;
    let max_record = max.user.patient_ids[0].to_string();
    let sophie_record = sophie.user.patient_ids[0].to_string();
    // Distinct values of the same LOINC code for two patients of one lab.
    let max_finding = released_hba1c(&app, &keller, &max_record, 9.87).await;
    let sophie_finding = released_hba1c(&app, &keller, &sophie_record, 3.21).await;

    let (status, max_page) = page(&app, &format!("/findings/{max_finding}"), &max, "de").await;
    assert_eq!(status, StatusCode::OK);
    assert!(max_page.contains(r#"role="img""#), "a chart is drawn");
    assert!(
        max_page.contains("<title id=\"trend-0-title\">HbA1c (%)"),
        "{max_page}"
    );
    assert!(max_page.contains("9,87"), "German decimal comma");
    assert!(!max_page.contains("3,21") && !max_page.contains("3.21"));
    assert!(max_page.contains(r#"<rect class="reference""#));
    assert!(
        max_page.contains(r#"class="point above""#),
        "9.87 % is marked as high"
    );
    for linked in linked_findings(&max_page) {
        assert!(
            max.user.finding_ids.iter().any(|f| f.to_string() == linked) || linked == max_finding,
            "{linked} is not Max's"
        );
    }

    let (_, sophie_page) = page(&app, &format!("/findings/{sophie_finding}"), &sophie, "en").await;
    assert!(sophie_page.contains("3.21"));
    assert!(!sophie_page.contains("9.87") && !sophie_page.contains("9,87"));
    assert!(sophie_page.contains(r#"class="point below""#));

    // Erika is a patient of both facilities: her chart joins her own values
    // from both, and nobody else's.
    let erika_lab = erika.user.patient_ids[0].to_string();
    let erika_centre = erika.user.patient_ids[1].to_string();
    let (lab_record, centre_record) = if app
        .get(&format!("/api/v1/patients/{erika_lab}"), &keller)
        .await
        .status()
        == StatusCode::OK
    {
        (erika_lab, erika_centre)
    } else {
        (erika_centre, erika_lab)
    };
    let at_lab = released_hba1c(&app, &keller, &lab_record, 6.43).await;
    let _at_centre = released_hba1c(&app, &petersen, &centre_record, 7.65).await;
    let (_, erika_page) = page(&app, &format!("/findings/{at_lab}"), &erika, "en").await;
    assert!(erika_page.contains("6.43") && erika_page.contains("7.65"));
    assert!(erika_page.contains("Testzentrum Hafen") && erika_page.contains("Labor Nord"));
    assert!(!erika_page.contains("9.87") && !erika_page.contains("3.21"));
}

#[tokio::test]
async fn patient_portal_foreign_findings_are_not_found() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let sophie = app.login("sophie.wagner").await;
    let leon = app.login("leon.hoffmann").await; // patient of the test centre only
    let petersen = app.login("j.petersen").await; // staff of the test centre
    let foreign = sophie.user.finding_ids[0];
    let missing = uuid::Uuid::new_v4();
    let (_, missing_body) = page(&app, &format!("/findings/{missing}"), &max, "en").await;
    for (who, session) in [("max", &max), ("leon", &leon), ("petersen", &petersen)] {
        for suffix in ["", "/pdf", "/pdf?view=inline"] {
            let (status, body) =
                page(&app, &format!("/findings/{foreign}{suffix}"), session, "en").await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{who} {suffix}");
            if suffix.is_empty() && who != "petersen" {
                assert_eq!(body, missing_body, "{who}: like a missing finding");
            }
        }
    }
    // The owner does get it.
    let (status, _) = page(&app, &format!("/findings/{foreign}"), &sophie, "en").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn patient_portal_pdf_opens_inline_or_downloads() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let id = max.user.finding_ids[0];
    let (_, html) = page(&app, &format!("/findings/{id}"), &max, "de").await;
    assert!(html.contains(&format!("href=\"/findings/{id}/pdf?view=inline\"")));
    assert!(html.contains("Befundbericht herunterladen (PDF)"));
    for (query, disposition) in [("?view=inline", "inline"), ("", "attachment")] {
        let response = app
            .client
            .get(format!("{}/findings/{id}/pdf{query}", app.url))
            .header("cookie", app.web_cookie(&max).await)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let header = response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(header.starts_with(disposition), "{header}");
        assert!(response.bytes().await.unwrap().starts_with(b"%PDF"));
    }
}

#[tokio::test]
async fn patient_portal_all_patients_load_charts_at_once() {
    let app = spawn_app().await;
    let patients: Vec<Session> = join_all(
        app.world
            .users
            .iter()
            .filter(|u| u.role == "patient")
            .map(|u| app.login(u.email.split('@').next().unwrap())),
    )
    .await;
    assert!(patients.len() >= 7);
    // Every patient's every finding page, repeated to 200+ requests.
    let jobs: Vec<(&Session, String)> = patients
        .iter()
        .flat_map(|p| p.user.finding_ids.iter().map(move |f| (p, f.to_string())))
        .collect();
    assert!(!jobs.is_empty());
    let rounds = 210_usize.div_ceil(jobs.len());
    let app = &app;
    let requests = jobs
        .iter()
        .cycle()
        .take(jobs.len() * rounds)
        .map(|(p, f)| async move {
            let (status, html) = page(app, &format!("/findings/{f}"), p, "de").await;
            (*p, f.clone(), status, html)
        });
    let results = join_all(requests).await;
    assert!(results.len() >= 200);
    let mut charts = 0;
    for (patient, finding, status, html) in results {
        assert_eq!(status, StatusCode::OK, "{finding}");
        charts += usize::from(html.contains(r#"role="img""#));
        for linked in linked_findings(&html) {
            assert!(
                patient
                    .user
                    .finding_ids
                    .iter()
                    .any(|f| f.to_string() == linked),
                "{} saw {linked}",
                patient.user.email
            );
        }
    }
    assert!(charts > 100, "lab findings carry charts: {charts}");
}

#[tokio::test]
async fn patient_portal_access_history_groups_list_views_and_filters_by_facility() {
    let app = spawn_app().await;
    let erika = app.login("erika.mustermann").await;
    for _ in 0..6 {
        let list = app.get("/api/v1/findings", &erika).await;
        assert_eq!(list.status(), StatusCode::OK);
    }
    let keller = app.login("a.keller").await;
    let lab_finding = erika
        .user
        .finding_ids
        .iter()
        .copied()
        .find(|f| keller.user.finding_ids.contains(f))
        .expect("a lab finding of Erika's");
    for _ in 0..2 {
        let read = app
            .get(&format!("/api/v1/findings/{lab_finding}"), &keller)
            .await;
        assert_eq!(read.status(), StatusCode::OK);
    }
    let (status, html) = page(&app, "/access-log", &erika, "en").await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<&str> = html.split("<tr").skip(2).collect();
    // Six list views (one record per facility each) collapse into one
    // line per facility with their count.
    let list_lines: Vec<&&str> = rows
        .iter()
        .filter(|r| r.contains("listed findings"))
        .collect();
    assert_eq!(list_lines.len(), 2, "{html}");
    assert!(
        list_lines.iter().all(|r| r.contains("6 times")),
        "{list_lines:?}"
    );
    // Each single read of a finding stays its own line, naming who.
    let reads = rows
        .iter()
        .filter(|r| r.contains("viewed a finding") && r.contains("Dr. Anna Keller"))
        .count();
    assert_eq!(reads, 2, "{html}");
    assert!(html.contains(r#"<label for="facility">"#));

    let (_, filtered) = page(&app, "/access-log?facility=Labor+Nord", &erika, "de").await;
    assert!(filtered.contains("<option value=\"Labor Nord\" selected>"));
    let rows: Vec<&str> = filtered.split("<tr").skip(2).collect();
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r.contains("<td>Labor Nord</td>")),
        "{filtered}"
    );
    assert!(filtered.contains("6-mal"));
    // Another person's facility name as a filter shows nothing foreign.
    let (_, nothing) = page(&app, "/access-log?facility=Nirgendwo", &erika, "de").await;
    assert!(nothing.contains("Für diese Einrichtung sind keine Zugriffe verzeichnet."));
}
