//! Issue 12: one's own sessions (list, revoke one, log out everywhere
//! else), idle and absolute session expiry with the way back after the
//! login, and the mail on a login from a new device.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{hidden_csrf, set_cookie_pair};
use crate::helpers::{spawn_app, test_app};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

async fn sessions(app: &crate::helpers::TestApp, s: &crate::helpers::Session) -> Vec<Value> {
    let body = app.get_json("/api/v1/account/sessions", s).await;
    body["sessions"].as_array().unwrap().clone()
}

#[tokio::test]
async fn own_sessions_are_listed_by_public_ids_with_the_current_one_marked() {
    let app = spawn_app().await;
    let a = app.login("max.schmidt").await;
    let b = app.login("max.schmidt").await;
    let _sophie = app.login("sophie.wagner").await;
    let list = sessions(&app, &a).await;
    assert_eq!(
        list.len(),
        2,
        "Max's two sessions, none of Sophie's: {list:?}"
    );
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    let text = serde_json::to_string(&list).unwrap();
    for token in [&a.token, &b.token] {
        let hash = hex::encode(Sha256::digest(token.as_bytes()));
        assert!(
            !text.contains(token.as_str()) && !text.contains(&hash),
            "no token, no hash"
        );
    }
    for s in &list {
        let id = s["id"].as_str().unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(s["surface"], "api");
        assert_eq!(s["network"], "127.0.0.0/24");
    }
    // The page lists them too, without the token.
    let page = app.web_get("/account/sessions", &a).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<th scope=\"col\""));
    assert!(!html.contains(a.token.as_str()) && !html.contains(b.token.as_str()));
    assert!(
        app.count("SELECT COUNT(*) FROM audit_records WHERE action = 'own_session_list' AND outcome = 'success'")
            .await
            >= 2
    );
}

#[tokio::test]
async fn own_sessions_revoke_ends_one_and_others_ids_answer_not_found() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let max_phone = app.login("max.schmidt").await;
    let sophie = app.login("sophie.wagner").await; // same facility, another patient
    let other_tenant = app.login("j.petersen").await; // staff of another facility
    let phone_id = sessions(&app, &max)
        .await
        .into_iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/account/sessions/{phone_id}/revoke");
    let unknown = app
        .post_empty(
            &format!("/api/v1/account/sessions/{}/revoke", "ab".repeat(16)),
            &sophie,
        )
        .await;
    let unknown_body = unknown.text().await.unwrap();
    for intruder in [&sophie, &other_tenant] {
        let answer = app.post_empty(&path, intruder).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            answer.text().await.unwrap(),
            unknown_body,
            "same as unknown"
        );
    }
    assert_eq!(
        app.get("/api/v1/findings", &max_phone).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_records WHERE action = 'own_session_revoke' AND outcome = 'not_found'")
            .await,
        3
    );
    let revoked = app.post_empty(&path, &max).await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/findings", &max_phone).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/findings", &max).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.post_empty(&path, &max).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn own_sessions_log_out_everywhere_else_keeps_only_the_current_one() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let others = [
        app.login("max.schmidt").await,
        app.login("max.schmidt").await,
    ];
    let erika = app.login("erika.mustermann").await;
    // The browser session of `max` is one more; the form ends the rest.
    let csrf = app.web_csrf(&max).await;
    let answer = app
        .web_post_form(
            "/account/sessions/revoke-others",
            &max,
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    for other in &others {
        assert_eq!(
            app.get("/api/v1/findings", other).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.get("/api/v1/findings", &max).await.status(),
        StatusCode::UNAUTHORIZED,
        "the API session is another one"
    );
    assert_eq!(
        app.web_get("/account/sessions", &max).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/findings", &erika).await.status(),
        StatusCode::OK,
        "nobody else's"
    );
    // Without the form token nothing happens.
    let forged = app
        .web_post_form("/account/sessions/revoke-others", &erika, &[("csrf", "0")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // Over the API.
    let e2 = app.login("erika.mustermann").await;
    let ended: Value = app
        .post_empty("/api/v1/account/sessions/revoke-others", &e2)
        .await
        .json()
        .await
        .unwrap();
    assert!(ended["revoked"].as_u64().unwrap() >= 2, "{ended}");
    assert_eq!(
        app.get("/api/v1/findings", &erika).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/findings", &e2).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn own_sessions_list_holds_under_200_concurrent_requests() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let requests = (0..200).map(|_| app.get("/api/v1/account/sessions", &max));
    let answers = futures_util::future::join_all(requests).await;
    let ok = answers
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    let shed = answers
        .iter()
        .filter(|r| r.status() == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert_eq!(ok + shed, 200, "only answers or load shedding");
    assert!(ok >= 100, "{ok} of 200 answered");
}

#[tokio::test]
async fn own_sessions_idle_session_dies_and_the_page_sends_to_login_and_back() {
    let app = test_app()
        .configure(|c| c.session_idle_timeout = Duration::from_secs(2))
        .spawn()
        .await;
    let max = app.login("max.schmidt").await;
    assert_eq!(
        app.web_get("/access-log", &max).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after = app.web_get("/access-log", &max).await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    let location = after.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/login?expired=1&next=%2Faccess-log");
    assert_eq!(
        app.get("/api/v1/findings", &max).await.status(),
        StatusCode::UNAUTHORIZED,
        "API session idle too"
    );
    // The login page says why, in the reader's language, and comes back.
    let page = app
        .client
        .get(format!("{}{location}", app.url))
        .header("accept-language", "de")
        .send()
        .await
        .unwrap();
    let cookie = set_cookie_pair(&page, "hippo_login_csrf").unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("Ihre Sitzung ist abgelaufen"), "{html}");
    assert!(html.contains("name=\"next\" value=\"/access-log\""));
    let csrf = hidden_csrf(&html);
    let user = app.user("max.schmidt");
    let login = app
        .client
        .post(format!("{}/login", app.url))
        .header("cookie", cookie)
        .header("origin", &app.url)
        .form(&[
            ("email", user.email.as_str()),
            ("password", &user.password),
            ("csrf", &csrf),
            ("next", "/access-log"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    assert_eq!(login.headers()["location"], "/access-log");
}

#[tokio::test]
async fn own_sessions_login_returns_only_to_local_paths() {
    let app = spawn_app().await;
    let user = app.user("max.schmidt");
    for (next, expected) in [
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/findings", "/findings"),
    ] {
        let form = app
            .client
            .get(format!("{}/login", app.url))
            .send()
            .await
            .unwrap();
        let cookie = set_cookie_pair(&form, "hippo_login_csrf").unwrap();
        let csrf = hidden_csrf(&form.text().await.unwrap());
        let login = app
            .client
            .post(format!("{}/login", app.url))
            .header("cookie", cookie)
            .header("origin", &app.url)
            .form(&[
                ("email", user.email.as_str()),
                ("password", &user.password),
                ("csrf", &csrf),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(login.headers()["location"], expected, "{next}");
    }
}

#[tokio::test]
async fn own_sessions_die_at_their_absolute_age_even_when_used_continuously() {
    let app = test_app()
        .configure(|c| c.session_absolute_timeout = Duration::from_secs(3))
        .spawn()
        .await;
    let max = app.login("max.schmidt").await;
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(app.get("/api/v1/findings", &max).await.status());
        if statuses.last() == Some(&StatusCode::UNAUTHORIZED) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(statuses[0], StatusCode::OK);
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses[..statuses.len() - 1]
            .iter()
            .all(|s| *s == StatusCode::OK)
    );
    assert!(
        statuses.len() >= 10,
        "used every 200 ms for about 3 s: {statuses:?}"
    );
}

/// A login from this browser (device cookie `device`, or none) with the
/// given User-Agent; returns the device cookie the server set or kept.
async fn browser_login(
    app: &crate::helpers::TestApp,
    email_prefix: &str,
    device: Option<&str>,
) -> Option<String> {
    let user = app.user(email_prefix);
    let form = app
        .client
        .get(format!("{}/login", app.url))
        .send()
        .await
        .unwrap();
    let csrf_cookie = set_cookie_pair(&form, "hippo_login_csrf").unwrap();
    let csrf = hidden_csrf(&form.text().await.unwrap());
    let cookies = match device {
        Some(d) => format!("{csrf_cookie}; hippo_device={d}"),
        None => csrf_cookie,
    };
    let login = app
        .client
        .post(format!("{}/login", app.url))
        .header("cookie", cookies)
        .header("origin", &app.url)
        .header("user-agent", FIREFOX)
        .form(&[
            ("email", user.email.as_str()),
            ("password", &user.password),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    assert_eq!(login.headers()["location"], "/");
    set_cookie_pair(&login, "hippo_device").map(|p| p.split_once('=').unwrap().1.to_owned())
}

#[tokio::test]
async fn new_device_logins_queue_one_mail_each_and_known_devices_none() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    let count = || async {
        app.count(&format!(
            "SELECT COUNT(*) FROM account_mail_outbox WHERE kind = 'new_device' AND recipient = '{}'",
            max.email
        ))
        .await
    };
    // API: the same client twice is one device.
    app.login("max.schmidt").await;
    app.login("max.schmidt").await;
    assert_eq!(count().await, 1);
    // A browser without the cookie gets one, and is new once.
    let device = browser_login(&app, "max.schmidt", None)
        .await
        .expect("device cookie");
    assert_eq!(device.len(), 64);
    assert_eq!(count().await, 2);
    assert_eq!(
        browser_login(&app, "max.schmidt", Some(&device)).await,
        None,
        "kept"
    );
    assert_eq!(count().await, 2, "a known browser");
    // The same browser for another person is new for that person.
    browser_login(&app, "sophie.wagner", Some(&device)).await;
    assert_eq!(count().await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM account_mail_outbox WHERE kind = 'new_device'")
            .await,
        3
    );
    // Only the device cookie's hash is kept.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM known_devices WHERE device_hash LIKE '%{device}%'"
        ))
        .await,
        0
    );
    // The mail: time, device, network and the link; no health data, no
    // facility, no name.
    let body: String = sqlx::query_scalar(
        "SELECT body FROM account_mail_outbox WHERE kind = 'new_device' AND recipient = $1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(&max.email)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        body.contains("Firefox / Linux") && body.contains("127.0.0.0/24"),
        "{body}"
    );
    assert!(body.contains("/account/sessions"));
    for tenant in &app.world.tenants {
        assert!(!body.contains(&tenant.name), "no facility name");
    }
    assert!(
        !body.contains("Max") && !body.contains("Schmidt"),
        "no name"
    );
}

#[tokio::test]
async fn new_device_second_factor_logins_count_only_when_complete() {
    let app = spawn_app().await;
    let keller = app.user("a.keller");
    // Password right, no code: nothing.
    let step = app.login_raw(&keller.email, &keller.password).await;
    assert_eq!(step.status(), StatusCode::ACCEPTED);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM account_mail_outbox").await,
        0
    );
    app.login("a.keller").await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM account_mail_outbox WHERE kind = 'new_device'")
            .await,
        1
    );
}
