//! Request bodies and a login over HTTP.

use super::*;
use std::collections::BTreeMap;

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

/// Log in through the API of the server at `url`, with the second step
/// for staff and operators; the session token.
pub async fn login_at(client: &Client, url: &str, user: &DemoUser) -> String {
    login_at_with(client, url, user, None).await
}

/// [`login_at`] where the test can reach the server's database: more than
/// two logins of one account within a TOTP step then need no waiting.
pub async fn login_at_with(
    client: &Client,
    url: &str,
    user: &DemoUser,
    db: Option<&AnyPool>,
) -> String {
    let response = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"email": user.email, "password": user.password}))
        .send()
        .await
        .unwrap();
    finish_login(client, url, user, response, db).await
}

/// The session token from a password step's answer: at once (200), or
/// after sending a TOTP code for the pending login (202).
pub async fn finish_login(
    client: &Client,
    url: &str,
    user: &DemoUser,
    response: Response,
    db: Option<&AnyPool>,
) -> String {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    if status == StatusCode::OK {
        return body["token"].as_str().unwrap().to_owned();
    }
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "login of {}: {body}",
        user.email
    );
    let pending = body["pending_token"].as_str().unwrap();
    // One second step at a time: the codes' steps must reach the server
    // in increasing order (a lower step than the last one is refused).
    let _turn = SECOND_STEPS.lock().await;
    let code = next_totp_code(user, db).await;
    let response = client
        .post(format!("{url}/api/v1/auth/login/second-factor"))
        .json(&json!({"pending_token": pending, "code": code}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        status,
        StatusCode::OK,
        "second step of {}: {body}",
        user.email
    );
    body["token"].as_str().unwrap().to_owned()
}

pub static SECOND_STEPS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// The last time step this test process sent per TOTP seed.
static LAST_STEPS: std::sync::Mutex<BTreeMap<String, u64>> = std::sync::Mutex::new(BTreeMap::new());

pub fn totp_for(secret_base32: &str) -> totp_rs::Totp {
    let seed = totp_rs::Secret::try_from_base32(secret_base32).unwrap();
    totp_rs::Builder::new()
        .with_secret(seed.as_bytes().to_vec())
        .build()
        .unwrap()
}

pub fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A code the server accepts now: the server takes each time step once per
/// account, and steps now..=now+1 stay valid across a step boundary
/// (skew 1), so two logins fit in one step. Past that, the account's used
/// step is forgotten through the test's database handle (a test-side
/// shortcut: the replay guard itself is tested without it), or the
/// helper waits for the next step.
pub async fn next_totp_code(user: &DemoUser, db: Option<&AnyPool>) -> String {
    let secret = user
        .totp_secret
        .as_deref()
        .unwrap_or_else(|| panic!("{} has a second factor but no totp_secret", user.email));
    let totp = totp_for(secret);
    let now_step = unix_secs() / 30;
    let last = LAST_STEPS.lock().unwrap().get(secret).copied();
    let mut step = last.map_or(now_step, |l| (l + 1).max(now_step));
    if step > now_step + 1 {
        match db {
            Some(db) => {
                forget_used_totp_steps(db, &user.email).await;
                step = now_step;
            }
            None => {
                let wait = (step - 1) * 30 - unix_secs().min((step - 1) * 30);
                tokio::time::sleep(std::time::Duration::from_secs(wait + 1)).await;
            }
        }
    }
    LAST_STEPS.lock().unwrap().insert(secret.to_owned(), step);
    totp.generate(step * 30).to_string()
}

pub async fn forget_used_totp_steps(db: &AnyPool, email: &str) {
    sqlx::query(
        "UPDATE totp_factors SET last_used_step = NULL WHERE subject_id IN \
         (SELECT id FROM staff_users WHERE email = $1 UNION ALL SELECT id FROM operators WHERE email = $1)",
    )
    .bind(email)
    .execute(db)
    .await
    .unwrap();
}

/// The ID the server gave a request (its audit records carry it).
pub fn server_request_id(response: &Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .expect("a request ID")
        .to_owned()
}

/// A finding upload authenticated by a lab system's API key.
pub async fn upload_with_key(app: &TestApp, key: &str, patient: &str) -> Response {
    app.client
        .post(format!("{}/api/v1/patients/{patient}/findings", app.url))
        .bearer_auth(key)
        .multipart(upload_form(&finding_metadata(), PDF))
        .send()
        .await
        .unwrap()
}
