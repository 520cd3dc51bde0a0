//! Bad input gets a clear 4xx JSON error and changes nothing (invariant 10).

use reqwest::{Response, StatusCode, multipart};
use serde_json::{Value, json};

use crate::helpers::{PDF, TestApp, finding_metadata, spawn_app, test_app, upload_form};

async fn row_counts(app: &TestApp) -> [i64; 4] {
    [
        app.count("SELECT COUNT(*) FROM findings").await,
        app.count("SELECT COUNT(*) FROM finding_pdfs").await,
        app.count("SELECT COUNT(*) FROM observations").await,
        app.count("SELECT COUNT(*) FROM patients").await,
    ]
}

async fn expect_error(response: Response, status: StatusCode, code: &str) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    body["error"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn oversized_uploads_get_413_and_store_nothing() {
    let app = test_app()
        .configure(|c| c.max_upload_bytes = 1024 * 1024)
        .spawn()
        .await;
    let clinician = app.login("a.keller").await;
    let patient = app.user("max.schmidt").patient_ids[0].to_string();
    let before = row_counts(&app).await;
    let mut big = PDF.to_vec();
    big.resize(3 * 1024 * 1024, b' ');
    let r = app
        .upload(&patient, &clinician, upload_form(&finding_metadata(), &big))
        .await;
    expect_error(r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    // Just over the PDF limit but within the body allowance: still refused.
    let mut slightly = PDF.to_vec();
    slightly.resize(1024 * 1024 + 1, b' ');
    let r = app
        .upload(
            &patient,
            &clinician,
            upload_form(&finding_metadata(), &slightly),
        )
        .await;
    expect_error(r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(row_counts(&app).await, before);
}

#[tokio::test]
async fn malformed_uploads_get_clear_errors_and_store_nothing() {
    let app = spawn_app().await;
    let clinician = app.login("a.keller").await;
    let patient = app.user("max.schmidt").patient_ids[0].to_string();
    let before = row_counts(&app).await;

    // A GIF named .pdf with a PDF content type is still not a PDF.
    let gif = multipart::Form::new()
        .text("metadata", finding_metadata().to_string())
        .part(
            "pdf",
            multipart::Part::bytes(b"GIF89a....".to_vec())
                .file_name("x.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    expect_error(
        app.upload(&patient, &clinician, gif).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_file",
    )
    .await;

    // An executable with `%PDF-` in its first kilobyte, and a PDF that
    // carries a page for a browser: refused by content, nothing stored.
    let mut exe = b"MZ\x90\x00\x03\x00".to_vec();
    exe.extend_from_slice(PDF);
    let mut polyglot = PDF[..9].to_vec();
    polyglot.extend_from_slice(b"%<html><script>alert(1)</script>\n");
    polyglot.extend_from_slice(&PDF[9..]);
    for bytes in [exe, polyglot] {
        let form = multipart::Form::new()
            .text("metadata", finding_metadata().to_string())
            .part("pdf", multipart::Part::bytes(bytes).file_name("report.pdf"));
        expect_error(
            app.upload(&patient, &clinician, form).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_file",
        )
        .await;
    }

    let not_json = multipart::Form::new()
        .text("metadata", "{title: oops")
        .part("pdf", multipart::Part::bytes(PDF.to_vec()));
    let m = expect_error(
        app.upload(&patient, &clinician, not_json).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    )
    .await;
    assert!(m.contains("metadata"), "{m}");

    let incomplete = json!({"title": "x", "observations": [{"display": "Hb", "value": 1}]});
    let m = expect_error(
        app.upload(&patient, &clinician, upload_form(&incomplete, PDF))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    )
    .await;
    assert_eq!(m, "observations[0].code: is required");

    let unknown_field = json!({"title": "x", "observations": [{"code": "1", "display": "Hb", "value": 1, "refrence_low": 2}]});
    expect_error(
        app.upload(&patient, &clinician, upload_form(&unknown_field, PDF))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    )
    .await;

    let no_pdf = multipart::Form::new().text("metadata", finding_metadata().to_string());
    let m = expect_error(
        app.upload(&patient, &clinician, no_pdf).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    )
    .await;
    assert!(m.contains("pdf"), "{m}");

    let no_metadata = multipart::Form::new().part("pdf", multipart::Part::bytes(PDF.to_vec()));
    expect_error(
        app.upload(&patient, &clinician, no_metadata).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    )
    .await;

    let unknown = uuid::Uuid::new_v4().to_string();
    expect_error(
        app.upload(&unknown, &clinician, upload_form(&finding_metadata(), PDF))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let json_instead = app
        .post_json(
            &format!("/api/v1/patients/{patient}/findings"),
            &clinician,
            &finding_metadata(),
        )
        .await;
    expect_error(json_instead, StatusCode::BAD_REQUEST, "bad_request").await;

    assert_eq!(row_counts(&app).await, before);
}

#[tokio::test]
async fn wrong_state_transitions_get_409_and_are_audited() {
    let app = spawn_app().await;
    let clinician = app.login("a.keller").await;
    let released = app.user("max.schmidt").finding_ids[0].to_string();
    let r = app
        .post_empty(&format!("/api/v1/findings/{released}/release"), &clinician)
        .await;
    let m = expect_error(r, StatusCode::CONFLICT, "invalid_transition").await;
    assert_eq!(m, "a released finding cannot be released");

    let r = app
        .post_empty(&format!("/api/v1/findings/{released}/retract"), &clinician)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .post_empty(&format!("/api/v1/findings/{released}/release"), &clinician)
        .await;
    expect_error(r, StatusCode::CONFLICT, "invalid_transition").await;
    let r = app
        .post_empty(&format!("/api/v1/findings/{released}/retract"), &clinician)
        .await;
    expect_error(r, StatusCode::CONFLICT, "invalid_transition").await;

    let status = app
        .count(&format!(
            "SELECT COUNT(*) FROM findings WHERE id = '{released}' AND status = 'retracted'"
        ))
        .await;
    assert_eq!(status, 1);
    assert_eq!(
        app.audit_count(&clinician.actor_id, &released, &["rejected"])
            .await,
        3
    );
}

#[tokio::test]
async fn invalid_patients_are_refused_with_field_level_messages() {
    let app = spawn_app().await;
    let clinician = app.login("a.keller").await;
    let before = row_counts(&app).await;
    let cases = [
        (
            json!({"given_name": "A", "family_name": "B"}),
            "birth_date: is required",
        ),
        (
            json!({"given_name": "A", "family_name": "B", "birth_date": "01.02.1990"}),
            "birth_date: must be a date as YYYY-MM-DD",
        ),
        (
            json!({"given_name": "A", "family_name": "B", "birth_date": "2999-01-01"}),
            "birth_date: must not be in the future",
        ),
        (
            json!({"given_name": " ", "family_name": "B", "birth_date": "1990-01-01"}),
            "given_name: is required",
        ),
    ];
    for (body, message) in cases {
        let r = app.post_json("/api/v1/patients", &clinician, &body).await;
        assert_eq!(
            expect_error(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await,
            message
        );
    }
    let r = app
        .post_json(
            "/api/v1/patients",
            &clinician,
            &json!({"given_name": "A", "family_name": "B", "birth_date": "1990-01-01", "ssn": "x"}),
        )
        .await;
    expect_error(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    let r = app
        .client
        .post(format!("{}/api/v1/patients", app.url))
        .bearer_auth(&clinician.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    assert_eq!(row_counts(&app).await, before);
}

/// The upload's text parts are as strict as the JSON routes: invalid UTF-8
/// is refused, not repaired into U+FFFD and stored.
#[tokio::test]
async fn metadata_that_is_not_utf8_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let clinician = app.login("a.keller").await;
    let patient = app.user("max.schmidt").patient_ids[0].to_string();
    let before = row_counts(&app).await;
    let mut metadata = finding_metadata().to_string().into_bytes();
    // "title": "…" gets a lone continuation byte.
    let at = metadata.iter().position(|b| *b == b':').unwrap() + 2;
    metadata.insert(at, 0x80);
    let form = multipart::Form::new()
        .part("metadata", multipart::Part::bytes(metadata))
        .part(
            "pdf",
            multipart::Part::bytes(PDF.to_vec())
                .file_name("r.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let r = app.upload(&patient, &clinician, form).await;
    let message = expect_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(
        message.contains("metadata") && message.contains("UTF-8"),
        "{message}"
    );
    assert_eq!(row_counts(&app).await, before);
}
