//! Passkeys (issue 12): registration while logged in, the passkey as the
//! login's second step, single-use challenges, the signature counter, and
//! that nobody reaches another account's passkeys or pending login. The
//! authenticator is webauthn-rs's software passkey, answering exactly what
//! a browser would send.

use futures_util::future::join_all;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse,
};

use crate::helpers::{Session, TestApp, spawn_app};

/// The origin the test server is configured with (`public_origin`).
pub const ORIGIN: &str = "http://localhost:8080";

fn origin() -> Url {
    Url::parse(ORIGIN).unwrap()
}

/// A software authenticator that verifies its user (passkeys require it).
pub fn authenticator() -> SoftPasskey {
    SoftPasskey::new(true)
}

/// The authenticator's answer to a fresh registration challenge of
/// `credential` (a bearer token).
pub async fn registration_answer(
    app: &TestApp,
    bearer: &str,
    soft: &mut SoftPasskey,
) -> RegisterPublicKeyCredential {
    let response = app
        .client
        .post(format!(
            "{}/api/v1/account/passkeys/register/challenge",
            app.url
        ))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let options: CreationChallengeResponse = response.json().await.unwrap();
    soft.do_registration(origin(), options).unwrap()
}

/// The authenticator's answer to a registration challenge fetched by the
/// page's script (browser session cookie `token`, its form token).
pub async fn web_registration_answer(
    app: &TestApp,
    token: &str,
    soft: &mut SoftPasskey,
) -> RegisterPublicKeyCredential {
    let csrf = hippo_server::auth::csrf::form_token(token);
    let response = app
        .client
        .post(format!("{}/account/passkeys/register/challenge", app.url))
        .header("cookie", format!("hippo_session={token}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let options: CreationChallengeResponse = response.json().await.unwrap();
    soft.do_registration(origin(), options).unwrap()
}

async fn register(app: &TestApp, session: &Session, soft: &mut SoftPasskey, name: &str) -> Value {
    let credential = registration_answer(app, &session.token, soft).await;
    let response = app
        .post_json(
            "/api/v1/account/passkeys",
            session,
            &json!({"name": name, "credential": credential}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// The password step of `session.user`; returns the pending token.
async fn pending_login(app: &TestApp, session: &Session) -> String {
    let response = app
        .login_raw(&session.user.email, &session.user.password)
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    let methods = body["methods"].as_array().unwrap();
    assert!(methods.contains(&json!("passkey")), "{body}");
    body["pending_token"].as_str().unwrap().to_owned()
}

async fn login_challenge(app: &TestApp, pending: &str) -> Response {
    app.client
        .post(format!("{}/api/v1/auth/login/passkey/challenge", app.url))
        .json(&json!({"pending_token": pending}))
        .send()
        .await
        .unwrap()
}

async fn login_options(app: &TestApp, pending: &str) -> Value {
    let response = login_challenge(app, pending).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn assertion(soft: &mut SoftPasskey, options: &Value) -> PublicKeyCredential {
    let options: RequestChallengeResponse = serde_json::from_value(options.clone()).unwrap();
    soft.do_authentication(origin(), options).unwrap()
}

async fn finish(app: &TestApp, pending: &str, credential: &PublicKeyCredential) -> Response {
    app.client
        .post(format!("{}/api/v1/auth/login/passkey", app.url))
        .json(&json!({"pending_token": pending, "credential": credential}))
        .send()
        .await
        .unwrap()
}

fn bearer(token: &str, of: &Session) -> Session {
    Session::api(token.to_owned(), of.actor_id.clone(), of.user.clone())
}

#[tokio::test]
async fn passkeys_register_then_log_in_with_the_passkey() {
    let app = spawn_app().await;
    // A patient without a second factor: the passkey becomes one.
    let max = app.login("max.schmidt").await;
    let mut soft = authenticator();
    let created = register(&app, &max, &mut soft, "Laptop").await;
    assert_eq!(created["name"], "Laptop");
    let pending = pending_login(&app, &max).await;
    let options = login_options(&app, &pending).await;
    let credential = assertion(&mut soft, &options);
    let response = finish(&app, &pending, &credential).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let session = bearer(body["token"].as_str().unwrap(), &max);
    assert_eq!(body["principal"]["kind"], "patient");
    let listed = app.get_json("/api/v1/account/passkeys", &session).await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], created["id"]);
    assert!(listed[0]["last_used_at"].is_string(), "{listed:?}");
    // No key material leaves the server.
    assert!(!listed[0].to_string().contains("cred"), "{listed:?}");
    // The registration is in the audit log, under the passkey's ID.
    let id = created["id"].as_str().unwrap();
    assert_eq!(app.audit_count(&max.actor_id, id, &["success"]).await, 1);
}

#[tokio::test]
async fn passkeys_stand_in_for_the_mandatory_totp_of_staff() {
    let app = spawn_app().await;
    let clinician = app.login("a.keller").await;
    let mut soft = authenticator();
    register(&app, &clinician, &mut soft, "Praxis-PC").await;
    let pending = pending_login(&app, &clinician).await;
    let credential = assertion(&mut soft, &login_options(&app, &pending).await);
    let response = finish(&app, &pending, &credential).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["principal"]["kind"], "clinician");
}

#[tokio::test]
async fn passkeys_replayed_assertions_and_used_challenges_are_refused() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let mut soft = authenticator();
    register(&app, &max, &mut soft, "Laptop").await;

    let pending = pending_login(&app, &max).await;
    let credential = assertion(&mut soft, &login_options(&app, &pending).await);
    assert_eq!(
        finish(&app, &pending, &credential).await.status(),
        StatusCode::OK
    );
    // The same answer again: the pending login and its challenge are gone.
    assert_eq!(
        finish(&app, &pending, &credential).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The old answer for a new login's new challenge: wrong challenge.
    let second = pending_login(&app, &max).await;
    login_options(&app, &second).await;
    assert_eq!(
        finish(&app, &second, &credential).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // That refusal used the second challenge up: even a right answer to
    // it is too late now; a new challenge works.
    let fresh = login_options(&app, &second).await;
    let right = assertion(&mut soft, &fresh);
    assert_eq!(finish(&app, &second, &right).await.status(), StatusCode::OK);
    // A registration challenge is single-use too.
    let answer = registration_answer(&app, &max.token, &mut authenticator()).await;
    let body = json!({"name": "Zweitschlüssel", "credential": answer});
    let first = app.post_json("/api/v1/account/passkeys", &max, &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let again = app.post_json("/api/v1/account/passkeys", &max, &body).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn passkeys_a_cloned_authenticator_is_refused_by_the_counter() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let mut soft = authenticator();
    register(&app, &max, &mut soft, "Laptop").await;
    // The server saw a higher counter than this authenticator will send:
    // what a clone that fell behind the original looks like.
    let json: String = sqlx::query_scalar("SELECT passkey_json FROM passkeys")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let mut stored: Value = serde_json::from_str(&json).unwrap();
    stored["cred"]["counter"] = json!(1000);
    sqlx::query("UPDATE passkeys SET passkey_json = $1")
        .bind(stored.to_string())
        .execute(&app.db)
        .await
        .unwrap();
    let pending = pending_login(&app, &max).await;
    let credential = assertion(&mut soft, &login_options(&app, &pending).await);
    assert_eq!(
        finish(&app, &pending, &credential).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn passkeys_of_one_account_cannot_finish_another_accounts_login() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let sophie = app.login("sophie.wagner").await;
    let mut max_key = authenticator();
    let mut sophie_key = authenticator();
    register(&app, &max, &mut max_key, "Max").await;
    register(&app, &sophie, &mut sophie_key, "Sophie").await;

    let sophies_login = pending_login(&app, &sophie).await;
    let sophies_options = login_options(&app, &sophies_login).await;
    // Max's authenticator signs Sophie's challenge (as a phishing page
    // relaying it would make it do) with Max's credential.
    let maxs_login = pending_login(&app, &max).await;
    let mut options = login_options(&app, &maxs_login).await;
    options["publicKey"]["challenge"] = sophies_options["publicKey"]["challenge"].clone();
    let foreign = assertion(&mut max_key, &options);
    assert_eq!(
        finish(&app, &sophies_login, &foreign).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Sophie's own passkey still works for a new challenge of her login;
    // the refused attempt did not open a session for anyone.
    let own = assertion(&mut sophie_key, &login_options(&app, &sophies_login).await);
    let response = finish(&app, &sophies_login, &own).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let session = bearer(body["token"].as_str().unwrap(), &sophie);
    let listed = app.get_json("/api/v1/account/passkeys", &session).await;
    assert_eq!(listed[0]["name"], "Sophie", "the session is Sophie's");
}

#[tokio::test]
async fn passkeys_cross_patient_and_cross_tenant_list_and_delete_are_not_found() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let sophie = app.login("sophie.wagner").await; // same tenant, other patient
    let other_tenant = app.login("j.petersen").await; // staff of tenant B
    let operator = app.login("oncall@").await;
    let created = register(&app, &max, &mut authenticator(), "Max").await;
    let id = created["id"].as_str().unwrap();

    for intruder in [&sophie, &other_tenant, &operator] {
        let listed = app.get_json("/api/v1/account/passkeys", intruder).await;
        assert_eq!(listed, json!([]), "{}", intruder.user.email);
        let response = app
            .post_empty(&format!("/api/v1/account/passkeys/{id}/delete"), intruder)
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let foreign_body = response.bytes().await.unwrap();
        let unknown = app
            .post_empty(
                &format!("/api/v1/account/passkeys/{}/delete", uuid::Uuid::new_v4()),
                intruder,
            )
            .await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        assert_eq!(foreign_body, unknown.bytes().await.unwrap());
    }
    let listed = app.get_json("/api/v1/account/passkeys", &max).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let path = format!("/api/v1/account/passkeys/{id}/delete");
    assert_eq!(
        app.post_empty(&path, &max).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.post_empty(&path, &max).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.count("SELECT count(*) FROM passkeys").await, 0);
}

#[tokio::test]
async fn passkeys_concurrent_finishes_of_one_challenge_give_exactly_one_session() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let mut soft = authenticator();
    register(&app, &max, &mut soft, "Laptop").await;
    let pending = pending_login(&app, &max).await;
    let credential = assertion(&mut soft, &login_options(&app, &pending).await);
    let attempts = 150;
    let sessions_before = app.count("SELECT count(*) FROM sessions").await;
    let statuses: Vec<StatusCode> = join_all(
        (0..attempts).map(|_| async { finish(&app, &pending, &credential).await.status() }),
    )
    .await;
    let sessions = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(sessions, 1, "{statuses:?}");
    assert_eq!(
        app.count("SELECT count(*) FROM sessions").await,
        sessions_before + 1
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn passkeys_names_are_checked_and_lab_systems_have_none() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let answer = registration_answer(&app, &max.token, &mut authenticator()).await;
    let response = app
        .post_json(
            "/api/v1/account/passkeys",
            &max,
            &json!({"name": "  ", "credential": answer}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("SELECT count(*) FROM passkeys").await, 0);
    // Without a pending login there is no challenge.
    assert_eq!(
        login_challenge(&app, "not-a-pending-login").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn passkeys_web_page_registers_lists_deletes_and_logs_in() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let sophie = app.login("sophie.wagner").await;
    let token = app.web_token(&max).await;
    let cookie = app.web_cookie(&max).await;
    let csrf = app.web_csrf(&max).await;
    let mut soft = authenticator();
    let answer = web_registration_answer(&app, &token, &mut soft).await;
    let response = app
        .client
        .post(format!("{}/account/passkeys", app.url))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Küchen-Tablet"),
            ("credential", &serde_json::to_string(&answer).unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.web_get("/account/passkeys", &max).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Küchen-Tablet"), "{html}");
    assert!(html.contains("<script src=\"/static/passkeys.js\""));
    assert!(!html.contains("onclick") && !html.contains("style="));
    // Sophie's page does not show Max's passkey; her delete of it is 404.
    let sophies = app.web_get("/account/passkeys", &sophie).await;
    assert!(!sophies.text().await.unwrap().contains("Küchen-Tablet"));
    let id: String = sqlx::query_scalar("SELECT id FROM passkeys")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let sophies_csrf = app.web_csrf(&sophie).await;
    let foreign = app
        .web_post_form(
            &format!("/account/passkeys/{id}/delete"),
            &sophie,
            &[("csrf", sophies_csrf.as_str())],
        )
        .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);

    // The login's second step in the browser, with the passkey.
    let password_step = app.web_login_raw(&max.user.email, &max.user.password).await;
    assert_eq!(password_step.headers()["location"], "/login/second-factor");
    let pending = crate::helpers::set_cookie_pair(&password_step, "hippo_pending_login").unwrap();
    let form = app
        .client
        .get(format!("{}/login/second-factor", app.url))
        .header("cookie", &pending)
        .send()
        .await
        .unwrap();
    let csrf_cookie = crate::helpers::set_cookie_pair(&form, "hippo_login_csrf").unwrap();
    let html = form.text().await.unwrap();
    assert!(html.contains("id=\"passkey-login\""), "{html}");
    let login_csrf = crate::helpers::hidden_csrf(&html);
    let cookies = format!("{pending}; {csrf_cookie}");
    let options: Value = app
        .client
        .post(format!("{}/login/passkey/challenge", app.url))
        .header("cookie", &cookies)
        .form(&[("csrf", login_csrf.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let credential = assertion(&mut soft, &options);
    let signed_in = app
        .client
        .post(format!("{}/login/passkey", app.url))
        .header("cookie", &cookies)
        .form(&[
            ("csrf", login_csrf.as_str()),
            ("credential", &serde_json::to_string(&credential).unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert!(crate::helpers::set_cookie_pair(&signed_in, "hippo_session").is_some());

    let deleted = app
        .web_post_form(
            &format!("/account/passkeys/{id}/delete"),
            &max,
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM passkeys").await, 0);
}
