//! Request bodies and a login over HTTP.

use super::*;

/// A minimal PDF that passes the strict content check (header, objects,
/// a cross-reference table pointing at them, trailer, `%%EOF`).
pub const PDF: &[u8] = include_bytes!("../../../../hippo-core/src/file_kind_fixtures/minimal.pdf");

pub fn finding_metadata() -> Value {
    json!({
        "title": "Kleines Blutbild",
        "observations": [
            {"code": "718-7", "display": "Hämoglobin", "value": 18.9, "unit": "g/dl",
             "reference_low": 12.0, "reference_high": 17.5},
            {"code": "94500-6", "display": "SARS-CoV-2 RNA", "value": "nicht nachweisbar"}
        ]
    })
}

pub fn upload_form(metadata: &Value, pdf: &[u8]) -> multipart::Form {
    multipart::Form::new()
        .text("metadata", metadata.to_string())
        .part(
            "pdf",
            multipart::Part::bytes(pdf.to_vec())
                .file_name("report.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        )
}

/// Log in through the API of the server at `url`; the session token.
pub async fn login_at(client: &Client, url: &str, email: &str, password: &str) -> String {
    let response = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "login of {email}");
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// The ID the server gave a request (its audit records carry it).
pub fn server_request_id(response: &Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .expect("a request ID")
        .to_owned()
}
