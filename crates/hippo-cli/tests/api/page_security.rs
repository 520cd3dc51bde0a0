//! Page security (issue 12): session tokens bound to their surface, a
//! login CSRF token the attacker cannot forge with a cookie, same-origin
//! form posts, audited refusals, strict headers on every page.

use reqwest::StatusCode;

use crate::helpers::{TestApp, set_cookie_pair, spawn_app};

async fn audited(app: &TestApp, detail: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM audit_records WHERE detail LIKE '%{detail}%'"
    ))
    .await
}

#[tokio::test]
async fn page_security_an_api_token_is_no_session_cookie() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    assert_eq!(
        app.get("/api/v1/findings", &max).await.status(),
        StatusCode::OK
    );
    let page = app
        .client
        .get(format!("{}/findings", app.url))
        .header("cookie", format!("hippo_session={}", max.token))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/login");
    assert_eq!(
        audited(&app, "unauthenticated wrong_surface GET /findings").await,
        1
    );
}

#[tokio::test]
async fn page_security_a_session_cookie_is_no_bearer_token() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let cookie_token = app.web_token(&max).await;
    assert_eq!(
        app.web_get("/findings", &max).await.status(),
        StatusCode::OK
    );
    let api = app
        .client
        .get(format!("{}/api/v1/findings", app.url))
        .bearer_auth(&cookie_token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        audited(&app, "unauthenticated wrong_surface GET /api/v1/findings").await,
        1
    );
}

#[tokio::test]
async fn page_security_the_form_login_sets_a_web_session_cookie() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    let response = app.web_login_raw(&max.email, &max.password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie_pair(&response, "hippo_session").is_some());
}
