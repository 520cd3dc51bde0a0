//! Second factor (issue 12 point 1): TOTP as the login's second step,
//! one use per time step even under concurrency, recovery codes, wrong
//! codes audited and throttled, pending logins bound to their account.

use futures_util::future::join_all;
use hippo_core::time_util::now_millis;
use hippo_server::auth::recovery;
use hippo_server::auth::token::{hash_token, new_token};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, login_subject, spawn_app, totp_for, unix_secs};

/// Step 1 for a demo user; the pending token (asserts the 202).
async fn pending_token(app: &TestApp, prefix: &str) -> String {
    let user = app.user(prefix);
    let response = app.login_raw(&user.email, &user.password).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", user.email);
    let body: Value = response.json().await.unwrap();
    assert!(
        body.get("token").is_none(),
        "no session before the code: {body}"
    );
    assert_eq!(body["second_factor_required"], true);
    body["pending_token"].as_str().unwrap().to_owned()
}

async fn second_step(app: &TestApp, pending: &str, code: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/auth/login/second-factor", app.url))
        .json(&json!({"pending_token": pending, "code": code}))
        .send()
        .await
        .unwrap()
}

/// The demo user's TOTP code for the current time step.
fn current_code(app: &TestApp, prefix: &str) -> String {
    let secret = app
        .user(prefix)
        .totp_secret
        .expect("demo staff have a TOTP secret");
    totp_for(&secret).generate(unix_secs()).to_string()
}

/// A pending login made directly in the store (no argon2 per login), as
/// the password step would have made it.
async fn stored_pending_login(app: &TestApp, prefix: &str) -> String {
    let token = new_token();
    let now = now_millis();
    app.store
        .unscoped_second_factor()
        .create_pending_login(
            &hash_token(&token),
            login_subject(app, prefix).await,
            now,
            now + 300_000,
        )
        .await
        .unwrap();
    token
}

#[tokio::test]
async fn second_factor_staff_and_operators_get_no_session_from_the_password_alone() {
    let app = spawn_app().await;
    for prefix in ["a.keller", "oncall"] {
        let pending = pending_token(&app, prefix).await;
        // The pending token is no session token.
        let as_bearer = app
            .client
            .get(format!("{}/api/v1/patients", app.url))
            .bearer_auth(&pending)
            .send()
            .await
            .unwrap();
        assert_eq!(as_bearer.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
    // Patients have no second factor in the demo: one step.
    let max = app.user("max.schmidt");
    assert_eq!(
        app.login_raw(&max.email, &max.password).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn second_factor_right_code_logs_in_and_its_time_step_is_never_accepted_again() {
    let app = spawn_app().await;
    let code = current_code(&app, "a.keller");
    let first = pending_token(&app, "a.keller").await;
    let response = second_step(&app, &first, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    let patients = app
        .client
        .get(format!("{}/api/v1/patients", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(patients.status(), StatusCode::OK);
    // The pending login is used up, and the same code (a replay, or a
    // shoulder-surfed code) does not open a second session.
    assert_eq!(
        second_step(&app, &first, &code).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let again = pending_token(&app, "a.keller").await;
    assert_eq!(
        second_step(&app, &again, &code).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
    let keller = app.actor_id(&app.user("a.keller").email).await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'login_second_factor' \
             AND outcome = 'rejected' AND resource_id = '{keller}'"
        ))
        .await,
        1,
        "the replayed code is audited against the account"
    );
}

#[tokio::test]
async fn second_factor_many_concurrent_submissions_of_one_code_let_exactly_one_in() {
    let app = spawn_app().await;
    const CLIENTS: usize = 150;
    let mut pendings = Vec::new();
    for _ in 0..CLIENTS {
        pendings.push(stored_pending_login(&app, "a.keller").await);
    }
    let code = current_code(&app, "a.keller");
    let answers = join_all(pendings.iter().map(|p| second_step(&app, p, &code))).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
    let wins = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(wins, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK
            || *s == StatusCode::UNAUTHORIZED
            || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
}

#[tokio::test]
async fn second_factor_code_of_another_account_or_tenant_opens_nothing() {
    let app = spawn_app().await;
    // Keller's pending login with the code of a colleague (same tenant)
    // and of a clinician of the other tenant: both refused.
    let pending = stored_pending_login(&app, "a.keller").await;
    for other in ["l.vogel", "j.petersen"] {
        let code = current_code(&app, other);
        assert_eq!(
            second_step(&app, &pending, &code).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Petersen's own code on Petersen's pending login yields Petersen's
    // session, scoped to his tenant: Keller's patients are not found.
    let petersen_pending = stored_pending_login(&app, "j.petersen").await;
    let response = second_step(&app, &petersen_pending, &current_code(&app, "j.petersen")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["principal"]["tenant_id"],
        app.world.tenants[1].id.to_string()
    );
    let keller_patient = app.user("a.keller").patient_ids[0];
    let read = app
        .client
        .get(format!("{}/api/v1/patients/{keller_patient}", app.url))
        .bearer_auth(body["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::NOT_FOUND);
    // An unknown pending token is refused like a wrong code.
    let unknown = second_step(&app, &new_token(), &current_code(&app, "a.keller")).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn second_factor_wrong_codes_end_the_pending_login_and_throttle_the_account() {
    let app = spawn_app().await;
    let right = current_code(&app, "a.keller");
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let pending = stored_pending_login(&app, "a.keller").await;
    for _ in 0..5 {
        assert_eq!(
            second_step(&app, &pending, wrong).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Five wrong codes: the pending login is gone, even the right code fails.
    assert_eq!(
        second_step(&app, &pending, &right).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Starting over does not give a guesser more tries: after ten wrong
    // codes for the account, the account's second step answers 429.
    let next = stored_pending_login(&app, "a.keller").await;
    for _ in 0..5 {
        second_step(&app, &next, wrong).await;
    }
    let fresh = stored_pending_login(&app, "a.keller").await;
    assert_eq!(
        second_step(&app, &fresh, &right).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let keller = app.actor_id(&app.user("a.keller").email).await;
    assert!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'login_second_factor' \
             AND outcome = 'rate_limited' AND resource_id = '{keller}'"
        ))
        .await
            >= 1
    );
    // Another account is not affected by Keller's throttle.
    let vogel = stored_pending_login(&app, "l.vogel").await;
    assert_eq!(
        second_step(&app, &vogel, &current_code(&app, "l.vogel"))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn second_factor_recovery_code_works_once_and_only_for_its_account() {
    let app = spawn_app().await;
    let codes = recovery::new_codes();
    let hashes: Vec<String> = codes.iter().map(|c| recovery::hash_code(c)).collect();
    app.store
        .unscoped_second_factor()
        .replace_recovery_codes(login_subject(&app, "a.keller").await, &hashes, now_millis())
        .await
        .unwrap();
    // Not for another account.
    let vogel = stored_pending_login(&app, "l.vogel").await;
    assert_eq!(
        second_step(&app, &vogel, &codes[0]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Typed in capitals without dashes: accepted once.
    let typed = codes[0].replace('-', "").to_uppercase();
    let pending = stored_pending_login(&app, "a.keller").await;
    assert_eq!(
        second_step(&app, &pending, &typed).await.status(),
        StatusCode::OK
    );
    let again = stored_pending_login(&app, "a.keller").await;
    assert_eq!(
        second_step(&app, &again, &codes[0]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Concurrent use of one code: exactly one wins.
    let mut pendings = Vec::new();
    for _ in 0..50 {
        pendings.push(stored_pending_login(&app, "a.keller").await);
    }
    let answers = join_all(pendings.iter().map(|p| second_step(&app, p, &codes[1]))).await;
    assert_eq!(
        answers
            .iter()
            .filter(|r| r.status() == StatusCode::OK)
            .count(),
        1
    );
    // Only hashes are stored.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM recovery_codes WHERE code_hash = '{}' OR code_hash = '{}'",
            codes[2],
            codes[2].replace('-', "")
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn second_factor_seed_is_sealed_at_rest() {
    let app = spawn_app().await;
    let secret = app.user("a.keller").totp_secret.unwrap();
    let seed = totp_rs::Secret::try_from_base32(&secret)
        .unwrap()
        .as_bytes()
        .to_vec();
    let rows = sqlx::query("SELECT sealed_secret, wrapped_key FROM totp_factors")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(rows.len() >= 6, "demo staff and operator are enrolled");
    for row in rows {
        use sqlx::Row;
        for column in ["sealed_secret", "wrapped_key"] {
            let bytes: Vec<u8> = row.get(column);
            assert!(!crate::helpers::contains(&bytes, &seed));
            assert!(!crate::helpers::contains(&bytes, secret.as_bytes()));
        }
    }
}

#[tokio::test]
async fn second_factor_web_login_asks_for_the_code_before_any_page() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let form = client
        .get(format!("{}/login", app.url))
        .send()
        .await
        .unwrap();
    let html = form.text().await.unwrap();
    let csrf = csrf_of(&html);
    let keller = app.user("a.keller");
    let step1 = client
        .post(format!("{}/login", app.url))
        .form(&[
            ("email", keller.email.as_str()),
            ("password", &keller.password),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(step1.status(), StatusCode::SEE_OTHER);
    assert_eq!(step1.headers()["location"], "/login/second-factor");
    // No session yet: the portal still sends to the login.
    let home = client
        .get(format!("{}/patients", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(home.headers()["location"], "/login?next=%2Fpatients");
    let page = client
        .get(format!("{}/login/second-factor", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<label for=\"second-factor-code\""));
    let csrf = csrf_of(&html);
    let wrong = client
        .post(format!("{}/login/second-factor", app.url))
        .form(&[("code", "000000"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    if current_code(&app, "a.keller") != "000000" {
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let csrf = csrf_of(&wrong.text().await.unwrap());
    let code = current_code(&app, "a.keller");
    let done = client
        .post(format!("{}/login/second-factor", app.url))
        .form(&[("code", code.as_str()), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()["location"], "/");
    let patients = client
        .get(format!("{}/patients", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(patients.status(), StatusCode::OK);
}

fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[start..start + 64].to_owned()
}
