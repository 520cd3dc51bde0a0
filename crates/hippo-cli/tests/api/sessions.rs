//! Login, sessions, logout, expiry and throttling.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{spawn_app, test_app};

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same_and_are_audited() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    let wrong = app.login_raw(&max.email, "not-the-password").await;
    let wrong_status = wrong.status();
    let wrong_body = wrong.text().await.unwrap();
    let unknown = app
        .login_raw("nobody@example.org", "not-the-password")
        .await;
    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), wrong_status);
    assert_eq!(unknown.text().await.unwrap(), wrong_body);
    let max_id = app.actor_id(&max.email).await;
    let rejected = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'login' AND outcome = 'rejected' AND resource_id = '{max_id}'"
        ))
        .await;
    assert_eq!(rejected, 1);
    let anonymous_rejections = app
        .count("SELECT COUNT(*) FROM audit_records WHERE action = 'login' AND outcome = 'rejected'")
        .await;
    assert_eq!(anonymous_rejections, 2);
    // What was typed is never recorded.
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_records WHERE detail LIKE '%not-the-password%' OR detail LIKE '%nobody@%'").await, 0);
}

#[tokio::test]
async fn tokens_are_random_stored_hashed_and_die_at_logout() {
    let app = spawn_app().await;
    let a = app.login("max.schmidt").await;
    let b = app.login("max.schmidt").await;
    assert_ne!(a.token, b.token);
    assert_eq!(a.token.len(), 64);
    let hash = hex::encode(Sha256::digest(a.token.as_bytes()));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE token_hash = '{hash}'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE token_hash = '{}'",
            a.token
        ))
        .await,
        0
    );

    assert_eq!(
        app.get("/api/v1/findings", &a).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.post_empty("/api/v1/auth/logout", &a).await.status(),
        StatusCode::NO_CONTENT
    );
    let after = app.get("/api/v1/findings", &a).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let body: Value = after.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
    // The other session is unaffected.
    assert_eq!(
        app.get("/api/v1/findings", &b).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn each_surface_accepts_only_its_own_credential() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    // A cookie never authorises an API call (no CSRF on the API)...
    let api_with_cookie = app
        .client
        .get(format!("{}/api/v1/findings", app.url))
        .header("cookie", app.web_cookie(&max).await)
        .send()
        .await
        .unwrap();
    assert_eq!(api_with_cookie.status(), StatusCode::UNAUTHORIZED);
    // ...and a bearer token never drives the browser UI.
    let web_with_bearer = app
        .client
        .get(format!("{}/findings", app.url))
        .bearer_auth(&max.token)
        .send()
        .await
        .unwrap();
    assert_eq!(web_with_bearer.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        web_with_bearer.headers()["location"],
        "/login?next=%2Ffindings"
    );
}

#[tokio::test]
async fn idle_sessions_expire() {
    let app = test_app()
        .configure(|c| c.session_idle_timeout = Duration::from_millis(800))
        .spawn()
        .await;
    let max = app.login("max.schmidt").await;
    assert_eq!(
        app.get("/api/v1/findings", &max).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        app.get("/api/v1/findings", &max).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions").await,
        0,
        "expired session removed"
    );
}

#[tokio::test]
async fn sessions_have_an_absolute_lifetime() {
    let app = test_app()
        .configure(|c| c.session_absolute_timeout = Duration::from_millis(800))
        .spawn()
        .await;
    let max = app.login("max.schmidt").await;
    for _ in 0..3 {
        assert_eq!(
            app.get("/api/v1/findings", &max).await.status(),
            StatusCode::OK
        );
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        app.get("/api/v1/findings", &max).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn login_attempts_are_limited_per_account() {
    let app = spawn_app().await; // 5 per account and minute
    let max = app.user("max.schmidt");
    for _ in 0..5 {
        assert_eq!(
            app.login_raw(&max.email, "wrong").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Even the right password is refused now: the budget is spent.
    let limited = app.login_raw(&max.email, &max.password).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Case or spaces do not open a new budget.
    let upper = app
        .login_raw(&format!(" {} ", max.email.to_uppercase()), &max.password)
        .await;
    assert_eq!(upper.status(), StatusCode::TOO_MANY_REQUESTS);
    // Other accounts are unaffected.
    let sophie = app.user("sophie.wagner");
    assert_eq!(
        app.login_raw(&sophie.email, &sophie.password)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'login' AND outcome = 'rate_limited'"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn login_attempts_are_limited_per_client_address() {
    let app = test_app()
        .configure(|c| c.login_attempts_per_client_per_minute = 3)
        .spawn()
        .await;
    for user in ["max.schmidt", "sophie.wagner", "jonas.becker"] {
        let u = app.user(user);
        assert_eq!(
            app.login_raw(&u.email, "wrong").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let paul = app.user("paul.fischer");
    assert_eq!(
        app.login_raw(&paul.email, &paul.password).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn login_response_carries_no_secrets() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    let body: Value = app
        .login_raw(&max.email, &max.password)
        .await
        .json()
        .await
        .unwrap();
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["expires_at", "principal", "token"]);
    let text = body.to_string();
    assert!(!text.contains("argon2"));
    assert!(!text.contains(&max.password));
    assert_eq!(body["principal"]["kind"], "patient");
}

#[tokio::test]
async fn requests_without_a_session_are_refused_and_audited() {
    let app = spawn_app().await;
    let finding = app.user("max.schmidt").finding_ids[0].to_string();
    let path = format!("/api/v1/findings/{finding}");
    let r = app
        .client
        .get(format!("{}{path}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let forged = app
        .client
        .get(format!("{}{path}", app.url))
        .bearer_auth("0".repeat(64))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let recorded = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE actor_kind = 'anonymous' AND outcome = 'denied' \
             AND detail = 'unauthenticated GET {path}'"
        ))
        .await;
    assert_eq!(recorded, 2);
}

#[tokio::test]
async fn browser_logout_needs_the_form_token() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let forged = app.web_post_form("/logout", &max, &[("csrf", "0")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v1/findings", &max).await.status(),
        StatusCode::OK
    );
    let csrf = app.web_csrf(&max).await;
    let real = app
        .web_post_form("/logout", &max, &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(real.status(), StatusCode::SEE_OTHER);
    // The browser session is over; the API session is another one.
    let after = app.web_get("/findings", &max).await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        after.headers()["location"],
        "/login?expired=1&next=%2Ffindings"
    );
}
