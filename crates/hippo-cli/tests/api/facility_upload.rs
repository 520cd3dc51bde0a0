//! The facility's upload form without JSON (issue 12 point 4): value rows
//! with a searchable LOINC list, "add rows" without JavaScript, localized
//! errors next to the fields with the input kept, German decimal commas,
//! and nothing stored from a faulty form, also under many concurrent posts.

use futures_util::future::join_all;
use reqwest::StatusCode;
use reqwest::multipart;

use crate::helpers::{PDF, Session, TestApp, spawn_app};

/// A form of the given row inputs (`("row-0-value", "5,4")`, …) with the
/// title and the PDF.
fn form(csrf: &str, title: &str, inputs: &[(&str, &str)]) -> multipart::Form {
    let mut form = multipart::Form::new()
        .text("csrf", csrf.to_owned())
        .text("title", title.to_owned());
    for (name, value) in inputs {
        form = form.text(name.to_string(), value.to_string());
    }
    form.part(
        "pdf",
        multipart::Part::bytes(PDF.to_vec()).file_name("befund.pdf"),
    )
}

async fn post(
    app: &TestApp,
    session: &Session,
    patient: &str,
    lang: &str,
    form: multipart::Form,
) -> reqwest::Response {
    app.client
        .post(format!("{}/patients/{patient}/findings", app.url))
        .header("cookie", app.web_cookie(session).await)
        .header("origin", &app.url)
        .header("accept-language", lang)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn findings_titled(app: &TestApp, title: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM findings WHERE title = $1")
        .bind(title)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn facility_upload_form_has_rows_and_the_code_list_and_no_json() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let patient = app.user("max.schmidt").patient_ids[0];
    let page = app
        .client
        .get(format!("{}/patients/{patient}", app.url))
        .header("cookie", app.web_cookie(&keller).await)
        .header("accept-language", "de")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(!html.contains("<textarea"), "no JSON text area");
    assert!(!html.contains("JSON"));
    for field in ["analyte", "code", "value", "unit", "low", "high", "flag"] {
        assert!(html.contains(&format!("name=\"row-7-{field}\"")), "{field}");
        assert!(html.contains(&format!(
            "<label class=\"visually-hidden\" for=\"row-0-{field}\">"
        )));
    }
    assert!(!html.contains("name=\"row-8-value\""), "8 rows at first");
    assert!(html.contains("list=\"loinc-common\""));
    assert!(html.contains("<datalist id=\"loinc-common\">"));
    assert!(html.contains("<option value=\"718-7\" label=\"Hämoglobin (g/dl)\">"));
    assert!(html.contains("Weitere Zeilen hinzufügen"));
    assert!(html.contains("formnovalidate"));
    // Enter in a field submits with the first submit button: the upload.
    let upload = html.find("<button type=\"submit\">").unwrap();
    let more = html.find("name=\"more_rows\"").unwrap();
    assert!(upload < more, "the upload button comes first");
}

#[tokio::test]
async fn facility_upload_rows_with_a_german_decimal_comma_are_stored_as_numbers() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let patient = app.user("max.schmidt").patient_ids[0].to_string();
    let csrf = app.web_csrf(&keller).await;
    let title = "Blutbild mit Komma";
    let rows = [
        // A known code alone: the name and the unit come from the list.
        ("row-0-code", "718-7"),
        ("row-0-value", "18,9"),
        ("row-0-low", "12"),
        ("row-0-high", "17,5"),
        // Rows 1 and 2 are left empty and ignored.
        ("row-1-unit", " "),
        // A known name alone gets its code; an unknown unit stays as typed.
        ("row-3-analyte", "Glukose"),
        ("row-3-value", "5.4"),
        ("row-3-unit", "mmol/l"),
        ("row-3-flag", "N"),
    ];
    let response = post(&app, &keller, &patient, "de", form(&csrf, title, &rows)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let finding = response.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/findings/")
        .to_owned();
    let json = app
        .get_json(&format!("/api/v1/findings/{finding}"), &keller)
        .await;
    let observations = json["observations"].as_array().unwrap();
    assert_eq!(observations.len(), 2, "{json}");
    let hb = &observations[0];
    assert_eq!(hb["code"], "718-7");
    assert_eq!(hb["display"], "Hämoglobin");
    assert_eq!(hb["unit"], "g/dl");
    assert_eq!(hb["value"], 18.9);
    assert_eq!(hb["reference_high"], 17.5);
    assert_eq!(hb["flag"], "H", "derived from the range");
    let glucose = &observations[1];
    assert_eq!(glucose["code"], "2345-7");
    assert_eq!(glucose["value"], 5.4);
    assert_eq!(glucose["unit"], "mmol/l");
    assert_eq!(glucose["flag"], "N");
}

#[tokio::test]
async fn facility_upload_faulty_rows_come_back_with_localized_errors_and_nothing_is_stored() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let patient = app.user("max.schmidt").patient_ids[0].to_string();
    let csrf = app.web_csrf(&keller).await;
    let title = "Fehlerhafter Befund";
    let rows = [
        ("row-0-analyte", "Hämoglobin"),
        ("row-0-code", "718-7"),
        ("row-0-value", "dreizehn"),
        ("row-1-analyte", "Kalium"),
        ("row-1-code", "2823-3"),
        ("row-1-value", "4,1"),
        ("row-1-low", "5,1"),
        ("row-1-high", "3,5"),
        ("row-2-value", "7"),
        ("row-3-analyte", "Natrium"),
        ("row-3-code", "2951-2"),
        ("row-3-value", "140"),
    ];
    for (lang, messages) in [
        (
            "de",
            [
                "Der Wert ist keine Zahl (zum Beispiel 5,4).",
                "Die untere Grenze ist größer als die obere.",
                "Zu diesem Wert fehlt der Analyt",
                "3 Felder sind nicht korrekt ausgefüllt",
            ],
        ),
        (
            "en",
            [
                "The value is not a number (for example 5.4).",
                "The lower limit is greater than the upper one.",
                "This value has no analyte",
                "3 fields are not filled in correctly",
            ],
        ),
    ] {
        let response = post(&app, &keller, &patient, lang, form(&csrf, title, &rows)).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = response.text().await.unwrap();
        for message in messages {
            assert!(html.contains(message), "{lang}: {message}\n{html}");
        }
        // The input is kept, the errors sit next to their fields.
        assert!(html.contains("value=\"dreizehn\""));
        assert!(html.contains("value=\"5,1\""));
        assert!(html.contains(&format!("value=\"{title}\"")));
        assert!(html.contains("value=\"140\""), "a good row stays too");
        for id in [
            "row-0-value-error",
            "row-1-low-error",
            "row-2-analyte-error",
        ] {
            assert!(html.contains(&format!("aria-describedby=\"{id}\"")), "{id}");
            assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert_eq!(html.matches("aria-invalid=\"true\"").count(), 3);
        assert_eq!(html.matches("<h1>").count(), 1);
    }
    assert_eq!(findings_titled(&app, title).await, 0, "nothing stored");
    // Every refused upload leaves an audit record.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'finding_upload' \
             AND outcome = 'rejected' AND detail LIKE 'upload_values_invalid%'"
        )
        .await,
        2
    );

    // A missing title is named the same way.
    let response = post(
        &app,
        &keller,
        &patient,
        "de",
        form(&csrf, "", &[("row-0-code", "718-7"), ("row-0-value", "13")]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Bitte geben Sie einen Titel ein."));
    assert!(html.contains("aria-describedby=\"upload-title-error\""));
}

#[tokio::test]
async fn facility_upload_add_rows_shows_more_rows_with_the_input_kept() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let patient = app.user("max.schmidt").patient_ids[0].to_string();
    let csrf = app.web_csrf(&keller).await;
    let title = "Noch nicht fertig";
    let more = form(
        &csrf,
        title,
        &[
            ("rows", "8"),
            ("row-0-code", "718-7"),
            ("row-0-value", "13,1"),
            ("row-7-analyte", "Kalium"),
            ("more_rows", "1"),
        ],
    );
    let response = post(&app, &keller, &patient, "de", more).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("name=\"row-15-value\""));
    assert!(!html.contains("name=\"row-16-value\""));
    assert!(html.contains("value=\"13,1\"") && html.contains("value=\"Kalium\""));
    assert!(html.contains("name=\"rows\" value=\"16\""));
    assert!(html.contains("Bitte wählen Sie die PDF-Datei erneut aus"));
    assert!(!html.contains("aria-invalid"), "adding rows is no error");
    assert_eq!(findings_titled(&app, title).await, 0);
    // Beyond the form's limit the parser refuses the row.
    let too_far = form(&csrf, title, &[("row-100-value", "1")]);
    let response = post(&app, &keller, &patient, "de", too_far).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn facility_upload_form_for_another_tenants_patient_is_not_found() {
    let app = spawn_app().await;
    let petersen = app.login("j.petersen").await;
    let nord_patient = app.user("max.schmidt").patient_ids[0].to_string();
    let csrf = app.web_csrf(&petersen).await;
    let title = "Fremder Befund";
    let rows = [("row-0-code", "718-7"), ("row-0-value", "13")];
    let response = post(
        &app,
        &petersen,
        &nord_patient,
        "de",
        form(&csrf, title, &rows),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let unknown = uuid::Uuid::new_v4().to_string();
    let response = post(&app, &petersen, &unknown, "de", form(&csrf, title, &rows)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(findings_titled(&app, title).await, 0);
    // A patient may not upload at all, not even to their own record.
    let max = app.login("max.schmidt").await;
    let csrf = app.web_csrf(&max).await;
    let response = post(&app, &max, &nord_patient, "de", form(&csrf, title, &rows)).await;
    assert!(response.status().is_client_error());
    assert_eq!(findings_titled(&app, title).await, 0);
}

#[tokio::test]
async fn facility_upload_many_concurrent_form_posts_each_get_their_own_answer() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let patient = app.user("max.schmidt").patient_ids[0].to_string();
    let csrf = app.web_csrf(&keller).await;
    const CLIENTS: usize = 120;
    let answers = join_all((0..CLIENTS).map(|n| {
        let (app, keller, patient, csrf) = (&app, &keller, &patient, &csrf);
        async move {
            let title = format!("Last {n:03}");
            // Every third form is faulty; its answer must name its own value.
            let value = if n % 3 == 0 {
                format!("falsch{n}")
            } else {
                format!("{n},5")
            };
            let rows = [("row-0-code", "718-7"), ("row-0-value", value.as_str())];
            let response = post(app, keller, patient, "de", form(csrf, &title, &rows)).await;
            let status = response.status();
            (n, status, value, response.text().await.unwrap())
        }
    }))
    .await;
    for (n, status, value, body) in &answers {
        if n % 3 == 0 {
            assert_eq!(*status, StatusCode::UNPROCESSABLE_ENTITY, "{n}");
            assert!(body.contains(&format!("value=\"{value}\"")), "{n}");
            assert!(body.contains(&format!("value=\"Last {n:03}\"")), "{n}");
        } else {
            assert_eq!(*status, StatusCode::SEE_OTHER, "{n}: {body}");
        }
    }
    let stored = app
        .count("SELECT COUNT(*) FROM findings WHERE title LIKE 'Last %'")
        .await;
    assert_eq!(stored as usize, CLIENTS - CLIENTS.div_ceil(3));
    for n in (0..CLIENTS).step_by(3) {
        assert_eq!(findings_titled(&app, &format!("Last {n:03}")).await, 0);
    }
}
