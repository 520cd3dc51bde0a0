//! Second-factor enrolment (issue 12 point 1) and the account security
//! settings (point 3): staff and operators without a factor get no
//! session until they enrolled one; the seed stays on the server until a
//! right code confirms it; recovery codes are shown once, work once, and a
//! new set voids the old; patients turn TOTP on and off; nobody reaches
//! another account's factors; concurrent confirmations store one seed.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, login_subject, spawn_app, totp_for, unix_secs};
use crate::helpers::{hidden_csrf, set_cookie_pair};

/// Remove a demo user's factor, as `hippo account reset-second-factor` does.
async fn reset_factor(app: &TestApp, prefix: &str) {
    app.store
        .unscoped_second_factor()
        .remove_second_factor(login_subject(app, prefix).await)
        .await
        .unwrap();
}

async fn count(app: &TestApp, sql: &str, id: &str) -> i64 {
    let row: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    row.0
}

async fn factors_of(app: &TestApp, id: &str) -> i64 {
    count(
        app,
        "SELECT count(*) FROM totp_factors WHERE subject_id = $1",
        id,
    )
    .await
}

async fn post(app: &TestApp, path: &str, bearer: Option<&str>, body: Value) -> reqwest::Response {
    let request = app.client.post(format!("{}{path}", app.url)).json(&body);
    let request = match bearer {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.unwrap()
}

async fn get(app: &TestApp, path: &str, bearer: &str) -> reqwest::Response {
    app.client
        .get(format!("{}{path}", app.url))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
}

/// The password step of a user without a factor: the enrolment token.
async fn enrolment_token(app: &TestApp, prefix: &str) -> String {
    let user = app.user(prefix);
    let response = app.login_raw(&user.email, &user.password).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", user.email);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("token").is_none(), "no session: {body}");
    assert_eq!(body["enrolment_required"], true, "{body}");
    body["pending_token"].as_str().unwrap().to_owned()
}

/// Enrolment step 1: the offered secret (base32).
async fn start(app: &TestApp, pending: &str) -> String {
    let response = post(
        app,
        "/api/v1/auth/login/enrol/start",
        None,
        json!({"pending_token": pending}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Hippo:")
    );
    assert!(
        body["otpauth_uri"]
            .as_str()
            .unwrap()
            .contains("issuer=Hippo")
    );
    assert!(body["qr_svg"].as_str().unwrap().starts_with("<svg"));
    body["secret"].as_str().unwrap().to_owned()
}

fn code_of(secret: &str) -> String {
    totp_for(secret).generate(unix_secs()).to_string()
}

/// A code of `secret` that is surely not the current one.
fn wrong_code_of(secret: &str) -> String {
    let right = code_of(secret);
    let totp = totp_for(secret);
    let near: Vec<String> = (0..3u64)
        .map(|k| totp.generate(unix_secs() + k * 30 - 30).to_string())
        .collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| *c != right && !near.contains(c))
        .unwrap()
}

async fn finish(app: &TestApp, pending: &str, code: &str) -> reqwest::Response {
    post(
        app,
        "/api/v1/auth/login/enrol/finish",
        None,
        json!({"pending_token": pending, "code": code}),
    )
    .await
}

/// Enrol `prefix` through the API; its session token and recovery codes.
async fn enrol(app: &TestApp, prefix: &str) -> (String, Vec<String>) {
    let pending = enrolment_token(app, prefix).await;
    let secret = start(app, &pending).await;
    let response = finish(app, &pending, &code_of(&secret)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let codes: Vec<String> = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (body["token"].as_str().unwrap().to_owned(), codes)
}

/// Password, then a recovery code as the second step.
async fn login_with_code(app: &TestApp, prefix: &str, code: &str) -> StatusCode {
    let user = app.user(prefix);
    let response = app.login_raw(&user.email, &user.password).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["second_factor_required"], true, "{body}");
    let pending = body["pending_token"].as_str().unwrap();
    post(
        app,
        "/api/v1/auth/login/second-factor",
        None,
        json!({"pending_token": pending, "code": code}),
    )
    .await
    .status()
}

#[tokio::test]
async fn enrolment_staff_without_factor_get_no_session_from_password_alone() {
    let app = spawn_app().await;
    for prefix in ["a.keller", "oncall"] {
        reset_factor(&app, prefix).await;
        let pending = enrolment_token(&app, prefix).await;
        // The pending token is no session anywhere.
        for path in [
            "/api/v1/patients",
            "/api/v1/tenants",
            "/api/v1/account/security",
        ] {
            assert_eq!(
                get(&app, path, &pending).await.status(),
                StatusCode::UNAUTHORIZED,
                "{path}"
            );
        }
        // ...nor a pending login that takes a code.
        let second = post(
            &app,
            "/api/v1/auth/login/second-factor",
            None,
            json!({"pending_token": pending, "code": "123456"}),
        )
        .await;
        assert_eq!(second.status(), StatusCode::UNAUTHORIZED);
    }
    let subject = app.actor_id(&app.user("a.keller").email).await;
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM sessions WHERE staff_id = $1",
            &subject
        )
        .await,
        0
    );

    // The form: a redirect to the enrolment, no session cookie.
    let user = app.user("a.keller");
    let response = app.web_login_raw(&user.email, &user.password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login/enrol");
    assert!(set_cookie_pair(&response, "hippo_session").is_none());
    let pending = set_cookie_pair(&response, "hippo_pending_login").unwrap();
    let page = app
        .client
        .get(format!("{}/login/enrol", app.url))
        .header("cookie", &pending)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csrf_cookie = set_cookie_pair(&page, "hippo_login_csrf").unwrap();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<svg") && html.contains("role=\"img\""),
        "QR code inline"
    );
    assert!(!html.contains("<script"), "no script");
    let secret = html
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    // The secret is nowhere in a form field: the server keeps it.
    assert!(!html.contains(&format!("value=\"{secret}\"")));
    let csrf = hidden_csrf(&html);
    let submit = |code: String| {
        let cookies = format!("{pending}; {csrf_cookie}");
        let csrf = csrf.clone();
        let app = &app;
        async move {
            app.client
                .post(format!("{}/login/enrol", app.url))
                .header("cookie", cookies)
                .header("origin", &app.url)
                .form(&[("code", code.as_str()), ("csrf", csrf.as_str())])
                .send()
                .await
                .unwrap()
        }
    };
    let wrong = submit(wrong_code_of(&secret)).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie_pair(&wrong, "hippo_session").is_none());
    assert_eq!(
        factors_of(&app, &subject).await,
        0,
        "a wrong code stores nothing"
    );
    let right = submit(code_of(&secret)).await;
    assert_eq!(right.status(), StatusCode::OK);
    assert!(set_cookie_pair(&right, "hippo_session").is_some());
    let html = right.text().await.unwrap();
    assert_eq!(
        html.matches("<li><code>").count(),
        10,
        "ten recovery codes shown"
    );
    assert_eq!(factors_of(&app, &subject).await, 1);
}

#[tokio::test]
async fn enrolment_with_a_wrong_code_stores_nothing_and_then_login_needs_the_code() {
    let app = spawn_app().await;
    reset_factor(&app, "a.keller").await;
    let subject = app.actor_id(&app.user("a.keller").email).await;
    let pending = enrolment_token(&app, "a.keller").await;
    let secret = start(&app, &pending).await;
    let wrong = finish(&app, &pending, &wrong_code_of(&secret)).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.json::<Value>().await.unwrap().get("token").is_none());
    assert_eq!(factors_of(&app, &subject).await, 0);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM recovery_codes WHERE subject_id = $1",
            &subject
        )
        .await,
        0
    );
    // A code of another seed (the earlier offer's) is wrong too.
    let replaced = start(&app, &pending).await;
    assert_ne!(replaced, secret);
    let stale = finish(&app, &pending, &code_of(&secret)).await;
    if code_of(&secret) != code_of(&replaced) {
        assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    }
    let right = finish(&app, &pending, &code_of(&replaced)).await;
    assert_eq!(right.status(), StatusCode::OK);
    let body: Value = right.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert_eq!(
        get(&app, "/api/v1/patients", token).await.status(),
        StatusCode::OK
    );
    // The enrolment token is used up.
    assert_eq!(
        finish(&app, &pending, &code_of(&replaced)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // From now on the password alone gives a second-factor step, no
    // enrolment and no session.
    let user = app.user("a.keller");
    let next: Value = app
        .login_raw(&user.email, &user.password)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(next["second_factor_required"], true, "{next}");
    assert!(next.get("token").is_none());
    let again = post(
        &app,
        "/api/v1/auth/login/enrol/start",
        None,
        json!({"pending_token": next["pending_token"]}),
    )
    .await;
    assert_eq!(
        again.status(),
        StatusCode::UNAUTHORIZED,
        "no re-enrolment over a factor"
    );
}

#[tokio::test]
async fn enrolment_recovery_codes_work_once_and_a_new_set_voids_the_old() {
    let app = spawn_app().await;
    reset_factor(&app, "a.keller").await;
    let (token, codes) = enrol(&app, "a.keller").await;
    let security: Value = get(&app, "/api/v1/account/security", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(security["totp_enabled"], true);
    assert_eq!(security["recovery_codes_left"], 10);
    assert_eq!(security["second_factor_mandatory"], true);

    assert_eq!(
        login_with_code(&app, "a.keller", &codes[0]).await,
        StatusCode::OK
    );
    assert_eq!(
        login_with_code(&app, "a.keller", &codes[0]).await,
        StatusCode::UNAUTHORIZED
    );

    // A new set needs a current code; a wrong one changes nothing.
    let refused = post(
        &app,
        "/api/v1/account/recovery-codes",
        Some(&token),
        json!({"code": "000000"}),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let renewed = post(
        &app,
        "/api/v1/account/recovery-codes",
        Some(&token),
        json!({"code": codes[1]}),
    )
    .await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let fresh: Vec<String> = renewed.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    assert_eq!(
        login_with_code(&app, "a.keller", &codes[2]).await,
        StatusCode::UNAUTHORIZED,
        "old set void"
    );
    assert_eq!(
        login_with_code(&app, "a.keller", &fresh[0]).await,
        StatusCode::OK
    );

    // Staff cannot turn their factor off.
    let off = post(
        &app,
        "/api/v1/account/totp/remove",
        Some(&token),
        json!({"code": fresh[1]}),
    )
    .await;
    assert_eq!(off.status(), StatusCode::FORBIDDEN);
    let subject = app.actor_id(&app.user("a.keller").email).await;
    assert_eq!(factors_of(&app, &subject).await, 1);
}

#[tokio::test]
async fn enrolment_patient_turns_totp_on_and_off() {
    let app = spawn_app().await;
    let session = app.login("max.schmidt").await;
    let token = session.token.as_str();
    let security: Value = get(&app, "/api/v1/account/security", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(security["totp_enabled"], false);
    assert_eq!(security["second_factor_mandatory"], false);

    let offer: Value = post(&app, "/api/v1/account/totp/start", Some(token), json!({}))
        .await
        .json()
        .await
        .unwrap();
    let secret = offer["secret"].as_str().unwrap().to_owned();
    let wrong = post(
        &app,
        "/api/v1/account/totp/finish",
        Some(token),
        json!({"code": wrong_code_of(&secret)}),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(factors_of(&app, &session.actor_id).await, 0);
    let on = post(
        &app,
        "/api/v1/account/totp/finish",
        Some(token),
        json!({"code": code_of(&secret)}),
    )
    .await;
    assert_eq!(on.status(), StatusCode::OK);
    let codes: Value = on.json().await.unwrap();
    let codes: Vec<String> = codes["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(factors_of(&app, &session.actor_id).await, 1);
    // Now the patient's login asks for the code.
    assert_eq!(
        login_with_code(&app, "max.schmidt", &codes[0]).await,
        StatusCode::OK
    );
    // A second "on" is refused while it is on.
    let twice = post(&app, "/api/v1/account/totp/start", Some(token), json!({})).await;
    assert_eq!(twice.status(), StatusCode::CONFLICT);

    let wrong_off = post(
        &app,
        "/api/v1/account/totp/remove",
        Some(token),
        json!({"code": "000000"}),
    )
    .await;
    assert_eq!(wrong_off.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(factors_of(&app, &session.actor_id).await, 1);
    let off = post(
        &app,
        "/api/v1/account/totp/remove",
        Some(token),
        json!({"code": codes[1]}),
    )
    .await;
    assert_eq!(off.status(), StatusCode::NO_CONTENT);
    assert_eq!(factors_of(&app, &session.actor_id).await, 0);
    let user = app.user("max.schmidt");
    assert_eq!(
        app.login_raw(&user.email, &user.password).await.status(),
        StatusCode::OK
    );

    // Every change is in the audit log.
    let recorded = count(
        &app,
        "SELECT count(*) FROM audit_records WHERE actor_id = $1 AND action IN \
         ('account_totp_enrol', 'account_totp_remove') AND outcome = 'success'",
        &session.actor_id,
    )
    .await;
    assert_eq!(recorded, 2);
}

#[tokio::test]
async fn enrolment_one_account_cannot_touch_another_accounts_factors() {
    let app = spawn_app().await;
    // Cross-patient: A's offered seed is not B's, and B cannot confirm it.
    let a = app.login("max.schmidt").await;
    let b = app.login("sophie.wagner").await;
    let offer: Value = post(
        &app,
        "/api/v1/account/totp/start",
        Some(&a.token),
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    let a_secret = offer["secret"].as_str().unwrap().to_owned();
    let b_try = post(
        &app,
        "/api/v1/account/totp/finish",
        Some(&b.token),
        json!({"code": code_of(&a_secret)}),
    )
    .await;
    assert_eq!(b_try.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(factors_of(&app, &b.actor_id).await, 0);
    let a_on = post(
        &app,
        "/api/v1/account/totp/finish",
        Some(&a.token),
        json!({"code": code_of(&a_secret)}),
    )
    .await;
    assert_eq!(
        a_on.status(),
        StatusCode::OK,
        "A's offer survived B's attempt"
    );
    let a_codes: Value = a_on.json().await.unwrap();
    let a_code = a_codes["recovery_codes"][0].as_str().unwrap().to_owned();
    // B cannot spend A's recovery code to renew or remove.
    let renew = post(
        &app,
        "/api/v1/account/recovery-codes",
        Some(&b.token),
        json!({"code": a_code}),
    )
    .await;
    assert_eq!(renew.status(), StatusCode::CONFLICT, "B has no factor");
    let remove = post(
        &app,
        "/api/v1/account/totp/remove",
        Some(&b.token),
        json!({"code": a_code}),
    )
    .await;
    assert_eq!(remove.status(), StatusCode::CONFLICT);
    assert_eq!(factors_of(&app, &a.actor_id).await, 1);
    let left: Value = get(&app, "/api/v1/account/security", &a.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(left["recovery_codes_left"], 10);

    // Cross-tenant: staff of another facility cannot use a staff
    // member's recovery code, nor finish their enrolment.
    reset_factor(&app, "a.keller").await;
    let (_, keller_codes) = enrol(&app, "a.keller").await;
    let petersen = app.login("j.petersen").await;
    let renew = post(
        &app,
        "/api/v1/account/recovery-codes",
        Some(&petersen.token),
        json!({"code": keller_codes[0]}),
    )
    .await;
    assert_eq!(renew.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        login_with_code(&app, "a.keller", &keller_codes[0]).await,
        StatusCode::OK,
        "Keller's code unused"
    );
    reset_factor(&app, "a.keller").await;
    let pending = enrolment_token(&app, "a.keller").await;
    let secret = start(&app, &pending).await;
    // Petersen's session cannot turn it into his factor.
    let steal = post(
        &app,
        "/api/v1/account/totp/finish",
        Some(&petersen.token),
        json!({"code": code_of(&secret)}),
    )
    .await;
    assert_eq!(
        steal.status(),
        StatusCode::FORBIDDEN,
        "staff do not enrol over the account API"
    );
    let keller = app.actor_id(&app.user("a.keller").email).await;
    assert_eq!(factors_of(&app, &keller).await, 0);
    assert_eq!(
        finish(&app, &pending, &code_of(&secret)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn enrolment_concurrent_finishes_give_one_seed_and_one_session() {
    const RACERS: usize = 150;
    let app = spawn_app().await;
    reset_factor(&app, "a.keller").await;
    let subject = app.actor_id(&app.user("a.keller").email).await;
    let pending = enrolment_token(&app, "a.keller").await;
    let secret = start(&app, &pending).await;
    let code = code_of(&secret);
    let answers = join_all((0..RACERS).map(|_| finish(&app, &pending, &code))).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
    let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(won, 1, "exactly one finish wins: {statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(factors_of(&app, &subject).await, 1, "one seed");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM sessions WHERE staff_id = $1",
            &subject
        )
        .await,
        1,
        "one session"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM recovery_codes WHERE subject_id = $1",
            &subject
        )
        .await,
        10
    );
}

#[tokio::test]
async fn enrolment_cli_reset_makes_staff_enrol_again() {
    let app = spawn_app().await;
    let email = app.user("a.keller").email;
    let subject = app.actor_id(&email).await;
    assert_eq!(factors_of(&app, &subject).await, 1);
    let out = crate::helpers::hippo_on(
        &["account", "reset-second-factor", "--staff", &email],
        &app.dir,
        app.database_url.as_deref(),
    );
    assert!(out.contains("removed the second factor"), "{out}");
    assert!(!out.contains("otpauth"), "no seed on the shell: {out}");
    assert_eq!(factors_of(&app, &subject).await, 0);
    enrolment_token(&app, "a.keller").await;
    let audited = count(
        &app,
        "SELECT count(*) FROM audit_records WHERE resource_id = $1 AND action = 'account_totp_remove'",
        &subject,
    )
    .await;
    assert_eq!(audited, 1);
    // A patient's address is no staff member's.
    let patient = app.user("max.schmidt").email;
    let refused = crate::helpers::hippo_command(app.database_url.as_deref())
        .args([
            "account",
            "reset-second-factor",
            "--staff",
            &patient,
            "--data-dir",
        ])
        .arg(&app.dir)
        .output()
        .unwrap();
    assert!(!refused.status.success());
}

#[tokio::test]
async fn enrolment_security_page_turns_totp_on_without_script() {
    let app = spawn_app().await;
    let session = app.login("max.schmidt").await;
    let cookie = app.web_cookie(&session).await;
    let csrf = app.web_csrf(&session).await;
    let page = app
        .client
        .get(format!("{}/account/security", app.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("href=\"/account/sessions\"") && html.contains("href=\"/account/passkeys\"")
    );
    assert_eq!(html.matches("<h1").count(), 1);
    let started = app
        .client
        .post(format!("{}/account/totp/start", app.url))
        .header("cookie", &cookie)
        .header("origin", &app.url)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::OK);
    let html = started.text().await.unwrap();
    assert!(!html.contains("<script"));
    assert!(html.contains("<svg") && html.contains("<title id=\"totp-qr-title\">"));
    assert!(html.contains("<label for=\"totp-finish-code\">"));
    let secret = html
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let finished = app
        .client
        .post(format!("{}/account/totp/finish", app.url))
        .header("cookie", &cookie)
        .header("origin", &app.url)
        .form(&[("csrf", csrf.as_str()), ("code", code_of(&secret).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(finished.status(), StatusCode::OK);
    let html = finished.text().await.unwrap();
    assert_eq!(
        html.matches("<li><code>").count(),
        10,
        "ten recovery codes, once"
    );
    assert!(html.contains("download=\"hippo-recovery-codes.txt\""));
    assert_eq!(factors_of(&app, &session.actor_id).await, 1);
}
