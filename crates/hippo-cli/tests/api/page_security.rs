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
    assert_eq!(
        page.headers()["location"],
        "/login?expired=1&next=%2Ffindings"
    );
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

/// A logout form posted from another site, as a browser sends it.
async fn cross_site_logout(
    app: &TestApp,
    cookie: &str,
    csrf: &str,
    headers: &[(&str, &str)],
) -> Response {
    let mut request = app
        .client
        .post(format!("{}/logout", app.url))
        .header("cookie", cookie)
        .form(&[("csrf", csrf)]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn page_security_form_posts_from_another_site_are_refused_and_audited() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let cookie = app.web_cookie(&max).await;
    let csrf = app.web_csrf(&max).await;
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")][..],
        &[("origin", "https://evil.example")][..],
        &[("origin", "null")][..],
    ] {
        let refused = cross_site_logout(&app, &cookie, &csrf, headers).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert!(refused.text().await.unwrap().contains("<h1"));
    }
    assert_eq!(audited(&app, "cross_origin_post POST /logout").await, 4);
    // The session survived every forged post; a same-origin one ends it.
    assert_eq!(
        app.web_get("/findings", &max).await.status(),
        StatusCode::OK
    );
    let own = cross_site_logout(
        &app,
        &cookie,
        &csrf,
        &[("origin", &app.url), ("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(own.status(), StatusCode::SEE_OTHER);
    // The JSON API takes no cookies, so the fence is not its business.
    let api = app
        .client
        .post(format!("{}/api/v1/auth/logout", app.url))
        .header("origin", "https://evil.example")
        .bearer_auth(&max.token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn page_security_csrf_mismatches_and_refused_uploads_are_audited() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let forged = app.web_post_form("/logout", &max, &[("csrf", "0")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(audited(&app, "csrf_mismatch POST /logout").await, 1);
    let login = post_with_chosen_cookie(
        &app,
        "/login",
        &[("email", "x@y.example"), ("password", "p")],
    )
    .await;
    assert_eq!(login.status(), StatusCode::FORBIDDEN);
    assert_eq!(audited(&app, "csrf_mismatch POST /login").await, 1);
    let keller = app.login("a.keller").await;
    let patient = max.user.patient_ids[0].to_string();
    let refused = app
        .upload(
            &patient,
            &keller,
            crate::helpers::upload_form(
                &crate::helpers::finding_metadata(),
                b"<html>not a pdf</html>",
            ),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        audited(
            &app,
            &format!("upload_refused POST /api/v1/patients/{patient}/findings")
        )
        .await,
        1
    );
}

#[tokio::test]
async fn page_security_200_concurrent_forged_posts_are_all_refused_and_audited() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let cookie = app.web_cookie(&max).await;
    let csrf = app.web_csrf(&max).await;
    let posts = (0..200).map(|i| {
        let (app, cookie, csrf) = (&app, &cookie, &csrf);
        async move {
            if i % 2 == 0 {
                cross_site_logout(app, cookie, csrf, &[("origin", "https://evil.example")]).await
            } else {
                cross_site_logout(app, cookie, "forged", &[]).await
            }
            .status()
        }
    });
    let statuses = futures_util::future::join_all(posts).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::FORBIDDEN),
        "{statuses:?}"
    );
    assert_eq!(audited(&app, "cross_origin_post POST /logout").await, 100);
    assert_eq!(audited(&app, "csrf_mismatch POST /logout").await, 100);
    // Healthy afterwards, and the session was never ended.
    assert_eq!(
        app.web_get("/findings", &max).await.status(),
        StatusCode::OK
    );
}

/// Pages and API answers alike: the strict headers, everywhere but
/// /static (which may be cached).
fn assert_strict_headers(response: &Response, what: &str) {
    let h = response.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{what}: CSP {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(h["cache-control"], "no-store", "{what}");
}

#[tokio::test]
async fn page_security_every_parameterless_get_route_and_a_finding_page_send_strict_headers() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let max = app.login("max.schmidt").await;
    let mut checked = 0;
    for spec in hippo_server::declarations::declarations() {
        if spec.method != "GET" || spec.path.contains('{') || spec.path.starts_with("/static/") {
            continue;
        }
        let response = match spec.surface {
            hippo_server::declarations::Surface::Web => app.web_get(spec.path, &keller).await,
            hippo_server::declarations::Surface::Api
            | hippo_server::declarations::Surface::Fhir => app.get(spec.path, &keller).await,
        };
        assert_strict_headers(&response, spec.path);
        assert!(
            response
                .headers()
                .get("strict-transport-security")
                .is_none()
        );
        checked += 1;
    }
    assert!(checked > 5, "{checked} routes");
    let finding = format!("/findings/{}", max.user.finding_ids[0]);
    let page = app.web_get(&finding, &max).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_strict_headers(&page, &finding);
    let api = app.get(&format!("/api/v1{finding}"), &max).await;
    assert_strict_headers(&api, "api finding");
}

#[tokio::test]
async fn page_security_hsts_when_the_public_url_is_https() {
    let app = crate::helpers::test_app()
        .configure(|c| c.retrieval.public_url = Some("https://befunde.example.org".into()))
        .spawn()
        .await;
    let login = app
        .client
        .get(format!("{}/login", app.url))
        .send()
        .await
        .unwrap();
    assert!(
        login.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
}
