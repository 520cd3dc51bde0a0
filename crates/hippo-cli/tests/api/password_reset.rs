//! Issue 12: password reset by e-mail token: the same answer for every
//! address, a 256-bit single-use token kept only as its hash, 30 minutes,
//! limits per address and per account, all sessions ended, the second
//! factor kept; operators refused.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, hidden_csrf, set_cookie_pair, spawn_app, test_app};

const NEW_PASSWORD: &str = "ein-neues-langes-passwort";

async fn ask(app: &TestApp, email: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/auth/password-reset", app.url))
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap()
}

async fn confirm(app: &TestApp, token: &str, password: &str) -> StatusCode {
    app.client
        .post(format!("{}/api/v1/auth/password-reset/confirm", app.url))
        .json(&json!({ "token": token, "new_password": password }))
        .send()
        .await
        .unwrap()
        .status()
}

/// Wait (bounded by rounds) until `sql` counts `n`; the work behind a
/// request runs after its answer.
async fn wait_for_count(app: &TestApp, sql: &str, n: i64) {
    for _ in 0..200 {
        if app.count(sql).await >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never reached {n}: {sql}");
}

/// The token of the newest reset mail to `email`.
async fn token_from_mail(app: &TestApp, email: &str) -> String {
    let sql = format!(
        "SELECT COUNT(*) FROM account_mail_outbox WHERE kind = 'password_reset' AND recipient = '{email}'"
    );
    wait_for_count(app, &sql, 1).await;
    let body: String = sqlx::query_scalar(
        "SELECT body FROM account_mail_outbox WHERE kind = 'password_reset' AND recipient = $1 \
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(email)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let start = body.find("token=").expect("link in the mail") + "token=".len();
    body[start..start + 64].to_owned()
}

#[tokio::test]
async fn password_reset_answers_the_same_for_known_and_unknown_addresses() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    let known = ask(&app, &max.email).await;
    let (known_status, known_body) = (known.status(), known.text().await.unwrap());
    let unknown = ask(&app, "nobody@example.org").await;
    assert_eq!(known_status, StatusCode::ACCEPTED);
    assert_eq!(unknown.status(), known_status);
    assert_eq!(unknown.text().await.unwrap(), known_body);
    let token = token_from_mail(&app, &max.email).await;
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM audit_records WHERE action = 'password_reset_request'",
        2,
    )
    .await;
    // Only the hash is stored; the unknown address got nothing, and what
    // was typed is not recorded.
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM password_resets WHERE token_hash = '{hash}'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM password_resets WHERE token_hash = '{token}'"
        ))
        .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM account_mail_outbox").await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_records WHERE detail LIKE '%nobody@%'")
            .await,
        0
    );
    let max_id = app.actor_id(&max.email).await;
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM audit_records WHERE action = 'password_reset_request' AND outcome = 'success' AND resource_id = '{max_id}'")).await,
        1
    );
}

#[tokio::test]
async fn password_reset_token_sets_the_password_once_ends_sessions_and_keeps_the_second_factor() {
    let app = spawn_app().await;
    let keller = app.user("a.keller");
    let session = app.login("a.keller").await;
    ask(&app, &keller.email).await;
    let token = token_from_mail(&app, &keller.email).await;
    assert_eq!(
        confirm(&app, &token, "short").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        confirm(&app, &token, NEW_PASSWORD).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        confirm(&app, &token, NEW_PASSWORD).await,
        StatusCode::GONE,
        "single use"
    );
    assert_eq!(
        app.get("/api/v1/patients", &session).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_raw(&keller.email, &keller.password)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let step = app.login_raw(&keller.email, NEW_PASSWORD).await;
    assert_eq!(
        step.status(),
        StatusCode::ACCEPTED,
        "the second factor is still asked"
    );
    let body: Value = step.json().await.unwrap();
    assert_eq!(body["second_factor_required"], true);
    let id = app.actor_id(&keller.email).await;
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM audit_records WHERE action = 'password_reset_confirm' AND outcome = 'success' AND resource_id = '{id}'")).await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_records WHERE action = 'password_reset_confirm' AND outcome = 'rejected'").await,
        1
    );
}

#[tokio::test]
async fn password_reset_150_concurrent_confirms_of_one_token_exactly_one_succeeds() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    ask(&app, &max.email).await;
    let token = token_from_mail(&app, &max.email).await;
    let tries = (0..150).map(|n| {
        let password = format!("{NEW_PASSWORD}-{n:03}");
        let app = &app;
        let token = token.clone();
        async move { (confirm(app, &token, &password).await, password) }
    });
    let outcomes = futures_util::future::join_all(tries).await;
    let won: Vec<_> = outcomes
        .iter()
        .filter(|(s, _)| *s == StatusCode::NO_CONTENT)
        .collect();
    assert_eq!(
        won.len(),
        1,
        "exactly one: {:?}",
        outcomes.iter().map(|o| o.0).collect::<Vec<_>>()
    );
    assert!(
        outcomes.iter().all(|(s, _)| matches!(
            *s,
            StatusCode::NO_CONTENT | StatusCode::GONE | StatusCode::SERVICE_UNAVAILABLE
        )),
        "only the winner, refusals and load shedding"
    );
    // The winner's password is the one that works.
    let winner = &won[0].1;
    assert_eq!(
        app.login_raw(&max.email, winner).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn password_reset_expired_and_malformed_tokens_are_one_refusal() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    ask(&app, &max.email).await;
    let token = token_from_mail(&app, &max.email).await;
    sqlx::query("UPDATE password_resets SET expires_at = 1")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(confirm(&app, &token, NEW_PASSWORD).await, StatusCode::GONE);
    assert_eq!(
        confirm(&app, &"ab".repeat(32), NEW_PASSWORD).await,
        StatusCode::GONE
    );
    assert_eq!(
        confirm(&app, "not-a-token", NEW_PASSWORD).await,
        StatusCode::GONE
    );
    assert_eq!(
        app.login_raw(&max.email, &max.password).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn password_reset_is_limited_per_address_and_per_account() {
    let app = test_app()
        .configure(|c| c.password_reset_requests_per_client_per_minute = 6)
        .spawn()
        .await;
    let max = app.user("max.schmidt");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(ask(&app, &max.email).await.status());
    }
    assert!(
        statuses.iter().all(|s| *s == StatusCode::ACCEPTED),
        "{statuses:?}"
    );
    let id = app.actor_id(&max.email).await;
    wait_for_count(
        &app,
        &format!("SELECT COUNT(*) FROM audit_records WHERE action = 'password_reset_request' AND outcome = 'rate_limited' AND resource_id = '{id}'"),
        2,
    )
    .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM password_resets").await,
        3,
        "three per account and hour"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM account_mail_outbox WHERE kind = 'password_reset'")
            .await,
        3
    );
    // The address: the sixth request passes, the seventh is refused for
    // any address typed.
    assert_eq!(
        ask(&app, "nobody@example.org").await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        ask(&app, "nobody@example.org").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn password_reset_refuses_operators_and_says_so_in_the_audit_log() {
    let app = spawn_app().await;
    let (id, email): (String, String) = sqlx::query_as("SELECT id, email FROM operators LIMIT 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(ask(&app, &email).await.status(), StatusCode::ACCEPTED);
    wait_for_count(
        &app,
        &format!("SELECT COUNT(*) FROM audit_records WHERE action = 'password_reset_request' AND detail LIKE '%operator_reset_refused%' AND resource_id = '{id}'"),
        1,
    )
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM password_resets").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM account_mail_outbox").await,
        0
    );
}

#[tokio::test]
async fn password_reset_through_the_forms() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    let form = app
        .client
        .get(format!("{}/password/forgot", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let cookie = set_cookie_pair(&form, "hippo_login_csrf").unwrap();
    let csrf = hidden_csrf(&form.text().await.unwrap());
    let sent = app
        .client
        .post(format!("{}/password/forgot", app.url))
        .header("cookie", &cookie)
        .header("origin", &app.url)
        .header("accept-language", "de")
        .form(&[("email", max.email.as_str()), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    assert!(
        sent.text()
            .await
            .unwrap()
            .contains("Falls zu dieser Adresse ein Konto besteht")
    );
    let token = token_from_mail(&app, &max.email).await;
    let subject: String = sqlx::query_scalar(
        "SELECT mail_subject FROM account_mail_outbox WHERE kind = 'password_reset'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        subject, "Hippo-Passwort zurücksetzen",
        "in the language of the request"
    );
    let page = app
        .client
        .get(format!("{}/password/reset?token={token}", app.url))
        .send()
        .await
        .unwrap();
    let cookie = set_cookie_pair(&page, "hippo_login_csrf").unwrap();
    let csrf = hidden_csrf(&page.text().await.unwrap());
    let post = |password: &'static str, repeat: &'static str| {
        app.client
            .post(format!("{}/password/reset", app.url))
            .header("cookie", &cookie)
            .header("origin", &app.url)
            .form(&[
                ("token", token.as_str()),
                ("password", password),
                ("repeat", repeat),
                ("csrf", &csrf),
            ])
            .send()
    };
    let differ = post(NEW_PASSWORD, "something-else-entirely").await.unwrap();
    assert_eq!(differ.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let done = post(NEW_PASSWORD, NEW_PASSWORD).await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("/login"));
    assert_eq!(
        app.login_raw(&max.email, NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_password_reset_and_new_device_mails_arrive_without_health_data() {
    let sink = crate::helpers::SmtpSink::start().await;
    let app = test_app()
        .configure(|c| c.notifications = Some(sink.notify_config()))
        .spawn()
        .await;
    let max = app.user("max.schmidt");
    app.login("max.schmidt").await; // a new device: one mail
    ask(&app, &max.email).await;
    let token = token_from_mail(&app, &max.email).await;
    let mut mails = Vec::new();
    for _ in 0..400 {
        mails = sink.mails();
        if mails.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(mails.len(), 2, "{mails:?}");
    let reset = mails
        .iter()
        .find(|m| m.subject.contains("password"))
        .expect("reset mail");
    let link = format!(
        "{}password/reset?token={token}",
        crate::helpers::NOTIFY_BASE_URL
    );
    assert!(reset.body.contains(&link), "{}", reset.body);
    let device = mails
        .iter()
        .find(|m| m.subject.contains("new login"))
        .expect("device mail");
    assert!(device.body.contains("/account/sessions"));
    for mail in &mails {
        assert_eq!(mail.rcpt_tos, std::slice::from_ref(&max.email));
        for tenant in &app.world.tenants {
            assert!(!mail.body.contains(&tenant.name));
        }
        assert!(!mail.body.contains("Schmidt"));
    }
    // Sent: the reset link is no longer in the database.
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM account_mail_outbox WHERE state = 'sent' AND body = ''",
        2,
    )
    .await;
}
