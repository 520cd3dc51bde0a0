//! Page security (issue 12): session tokens bound to their surface, a
//! login CSRF token the attacker cannot forge with a cookie, same-origin
//! form posts, audited refusals, strict headers on every page.

use reqwest::{Response, StatusCode};

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

/// The old double submit: an attacker who can set a cookie chooses its
/// value and sends the same value as the field.
async fn post_with_chosen_cookie(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Response {
    let chosen = "ab".repeat(32);
    let mut fields = fields.to_vec();
    fields.push(("csrf", &chosen));
    app.client
        .post(format!("{}{path}", app.url))
        .header("cookie", format!("hippo_login_csrf={chosen}"))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn page_security_an_attacker_chosen_cookie_satisfies_no_login_csrf_check() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    let login = post_with_chosen_cookie(
        &app,
        "/login",
        &[("email", &max.email), ("password", &max.password)],
    )
    .await;
    assert_eq!(login.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie_pair(&login, "hippo_session").is_none());
    let retrieve = post_with_chosen_cookie(
        &app,
        "/retrieve",
        &[("code", "ABCD-EFGH-JKLM"), ("date_of_birth", "1978-03-02")],
    )
    .await;
    assert_eq!(retrieve.status(), StatusCode::FORBIDDEN);
    // The server's own token still works.
    let real = app.web_login_raw(&max.email, &max.password).await;
    assert_eq!(real.status(), StatusCode::SEE_OTHER);
}
