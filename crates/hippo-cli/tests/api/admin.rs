//! Staff management, the API keys page and the facility's time zone
//! (issue 12 points 4 and 6): tenant admins of their own facility only,
//! invitations used once, deactivation that ends every session, and dates
//! shown in the facility's zone.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, hidden_csrf, set_cookie_pair, spawn_app};

/// 2020-03-10 03:30 UTC: the 10th in Berlin, still the 9th in New York.
const EARLY_MORNING_IN_BERLIN: i64 = 1_583_811_000_000;

async fn invite(app: &TestApp, admin: &crate::helpers::Session, email: &str, role: &str) -> Value {
    let created = app
        .post_json(
            "/api/v1/staff",
            admin,
            &json!({"display_name": "Nora Neu", "email": email, "role": role}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    created.json().await.unwrap()
}

/// The token the invitation mail carries, read from the outbox row the
/// sender would mail.
async fn mailed_token(app: &TestApp, email: &str) -> String {
    let row: (String, String) = sqlx::query_as(
        "SELECT kind, link_token FROM notification_outbox WHERE recipient = $1 \
         AND kind = 'staff_invitation'",
    )
    .bind(email)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(row.0, "staff_invitation");
    row.1
}

/// The invitation form's session-less CSRF cookie and field.
async fn invitation_form(app: &TestApp, token: &str) -> (String, String, String) {
    let form = app
        .client
        .get(format!("{}/invitation?token={token}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let cookie = set_cookie_pair(&form, "hippo_login_csrf").expect("csrf cookie");
    let html = form.text().await.unwrap();
    (cookie, hidden_csrf(&html), html)
}

async fn accept(app: &TestApp, cookie: &str, csrf: &str, token: &str, password: &str) -> String {
    app.client
        .post(format!("{}/invitation", app.url))
        .header("cookie", cookie)
        .header("origin", &app.url)
        .form(&[
            ("csrf", csrf),
            ("token", token),
            ("password", password),
            ("password_repeat", password),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

const DONE: &str = "Your password has been set";
const INVALID: &str = "This invitation link does not work";

#[tokio::test]
async fn admin_invites_a_member_who_sets_their_own_password_once() {
    let app = spawn_app().await;
    let admin = app.login("admin@labor-nord").await;
    let email = "nora.neu@labor-nord.example";
    let member = invite(&app, &admin, email, "clinician").await;
    assert_eq!(member["invitation_pending"], true);
    assert_eq!(member["active"], true);
    assert_eq!(member["second_factor"], false);
    // No token and no hash in the answer.
    let token = mailed_token(&app, email).await;
    assert_eq!(token.len(), 64, "256 bits, hex");
    assert!(!member.to_string().contains(&token));
    // Stored as SHA-256 only, expiring in seven days.
    let hash = hippo_server::auth::token::hash_token(&token);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM staff_invitations WHERE token_hash = '{hash}' \
             AND expires_at - created_at = 604800000"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM staff_invitations WHERE token_hash = '{token}'"
        ))
        .await,
        0
    );
    // Before accepting, no password logs the member in.
    let before = app.login_raw(email, "!invited").await;
    assert_eq!(before.status(), StatusCode::UNAUTHORIZED);

    let (cookie, csrf, html) = invitation_form(&app, &token).await;
    assert!(html.contains("name=\"password\""), "{html}");
    // Too short: refused, the invitation stays open.
    let short = accept(&app, &cookie, &csrf, &token, "kurz").await;
    assert!(short.contains("name=\"password\""), "{short}");
    let password = "Ein langer Satz als Passwort 2026";
    let done = accept(&app, &cookie, &csrf, &token, password).await;
    assert!(done.contains(DONE), "{done}");
    // Used once: the same link does not work again, and a second use
    // changes nothing.
    let again = accept(&app, &cookie, &csrf, &token, "Ein anderer langer Satz").await;
    assert!(again.contains(INVALID), "{again}");
    let reopened = app
        .client
        .get(format!("{}/invitation?token={token}", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!reopened.contains("name=\"password\""));
    assert!(reopened.contains(INVALID), "{reopened}");
    let login = app.login_raw(email, password).await;
    assert_ne!(
        login.status(),
        StatusCode::UNAUTHORIZED,
        "the set password works"
    );
    let wrong = app.login_raw(email, "Ein anderer langer Satz").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // Audited: the creation by the admin, the acceptance, the refusal.
    let member_id = member["id"].as_str().unwrap();
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'staff_create' \
             AND resource_id = '{member_id}' AND outcome = 'success'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'invitation_accept' \
             AND resource_id = '{member_id}' AND outcome = 'success'"
        ))
        .await,
        1
    );
    assert!(
        app.count(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'invitation_accept' \
             AND outcome = 'not_found'"
        )
        .await
            >= 1
    );
}

/// The staff list's "second factor" of the member with `email`.
async fn listed_second_factor(
    app: &TestApp,
    admin: &crate::helpers::Session,
    email: &str,
) -> Value {
    let all = app.get_json("/api/v1/staff", admin).await;
    all.as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == email)
        .unwrap()["second_factor"]
        .clone()
}

#[tokio::test]
async fn admin_staff_list_counts_a_passkey_as_a_second_factor() {
    let app = spawn_app().await;
    let admin = app.login("admin@labor-nord").await;
    let email = "paula.passkey@labor-nord.example";
    let member = invite(&app, &admin, email, "assistant").await;
    let id: hippo_core::StaffId = member["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(listed_second_factor(&app, &admin, email).await, false);
    app.store
        .unscoped_passkeys()
        .add(
            hippo_store::LoginSubject::Staff(id),
            &uuid::Uuid::new_v4().to_string(),
            "Sicherheitsschlüssel",
            "{}",
            hippo_core::time_util::now_millis(),
        )
        .await
        .unwrap()
        .unwrap();
    // A passkey alone is a second factor (no TOTP needed).
    assert_eq!(listed_second_factor(&app, &admin, email).await, true);
}

#[tokio::test]
async fn admin_of_one_tenant_cannot_list_change_or_deactivate_staff_of_another() {
    let app = spawn_app().await;
    let admin_a = app.login("admin@labor-nord").await;
    let listed = app.get_json("/api/v1/staff", &admin_a).await;
    let listed = listed.as_array().unwrap();
    let emails: Vec<&str> = listed
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert!(
        emails.iter().any(|e| e.starts_with("a.keller")),
        "{emails:?}"
    );
    assert!(
        !emails
            .iter()
            .any(|e| e.starts_with("j.petersen") || e.starts_with("admin@testzentrum")),
        "another tenant's staff listed: {emails:?}"
    );
    // Nothing secret in the list.
    let text = serde_json::to_string(listed).unwrap();
    assert!(
        !text.contains("argon2") && !text.contains("password"),
        "{text}"
    );

    let foreign = app.actor_id(&app.user("j.petersen").email).await;
    let foreign_admin = app.actor_id(&app.user("admin@testzentrum").email).await;
    for target in [&foreign, &foreign_admin] {
        for (path, body) in [
            ("role", Some(json!({"role": "assistant"}))),
            ("deactivate", None),
            ("reactivate", None),
        ] {
            let url = format!("/api/v1/staff/{target}/{path}");
            let response = match &body {
                Some(body) => app.post_json(&url, &admin_a, body).await,
                None => app.post_empty(&url, &admin_a).await,
            };
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{url}");
        }
    }
    // Unchanged, and still able to log in.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM staff_users WHERE id = '{foreign}' AND role = 'clinician' \
             AND deactivated_at IS NULL"
        ))
        .await,
        1
    );
    let still = app.login("j.petersen").await;
    assert_eq!(
        app.get("/api/v1/patients", &still).await.status(),
        StatusCode::OK
    );

    // Clinicians and assistants: forbidden on the collection, not found
    // on members, even of their own facility.
    let own_member = app.actor_id(&app.user("l.vogel").email).await;
    for prefix in ["a.keller", "l.vogel"] {
        let staff = app.login(prefix).await;
        assert_eq!(
            app.get("/api/v1/staff", &staff).await.status(),
            StatusCode::FORBIDDEN
        );
        let create = app
            .post_json(
                "/api/v1/staff",
                &staff,
                &json!({"display_name": "X", "email": "x@example.org", "role": "tenant_admin"}),
            )
            .await;
        assert_eq!(create.status(), StatusCode::FORBIDDEN);
        let deactivate = app
            .post_empty(&format!("/api/v1/staff/{own_member}/deactivate"), &staff)
            .await;
        assert_eq!(deactivate.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            app.get("/api/v1/settings", &staff).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.web_get("/staff", &staff).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.web_get("/api-keys", &staff).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.web_get("/settings", &staff).await.status(),
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM staff_users WHERE id = '{own_member}' AND deactivated_at IS NULL"
        ))
        .await,
        1
    );
    // The refused attempts on the other tenant's staff are in the log.
    assert!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE actor_id = '{}' AND resource_id = '{foreign}' \
             AND outcome IN ('not_found', 'denied')",
            admin_a.actor_id
        ))
        .await
            >= 3
    );
}

#[tokio::test]
async fn admin_deactivation_ends_every_session_at_once_and_blocks_login() {
    let app = spawn_app().await;
    let admin = app.login("admin@labor-nord").await;
    let clinician = app.login("a.keller").await;
    let second_session = app.login("a.keller").await;
    let browser = app.web_get("/patients", &clinician).await;
    assert_eq!(browser.status(), StatusCode::OK);
    let id = clinician.actor_id.clone();

    let deactivated = app
        .post_empty(&format!("/api/v1/staff/{id}/deactivate"), &admin)
        .await;
    assert_eq!(deactivated.status(), StatusCode::OK);
    let deactivated: Value = deactivated.json().await.unwrap();
    assert_eq!(deactivated["active"], false);
    for session in [&clinician, &second_session] {
        assert_eq!(
            app.get("/api/v1/patients", session).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let page = app.web_get("/patients", &clinician).await;
    assert_eq!(
        page.status(),
        StatusCode::SEE_OTHER,
        "the browser session ended too"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE staff_id = '{id}'"
        ))
        .await,
        0
    );
    let user = app.user("a.keller");
    let login = app.login_raw(&user.email, &user.password).await;
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);

    let reactivated = app
        .post_empty(&format!("/api/v1/staff/{id}/reactivate"), &admin)
        .await;
    assert_eq!(reactivated.status(), StatusCode::OK);
    let back = app.login("a.keller").await;
    assert_eq!(
        app.get("/api/v1/patients", &back).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn admin_cannot_demote_or_deactivate_themself_and_roles_take_effect_at_once() {
    let app = spawn_app().await;
    let admin = app.login("admin@labor-nord").await;
    let me = admin.actor_id.clone();
    let demote = app
        .post_json(
            &format!("/api/v1/staff/{me}/role"),
            &admin,
            &json!({"role": "clinician"}),
        )
        .await;
    assert_eq!(demote.status(), StatusCode::CONFLICT);
    let deactivate = app
        .post_empty(&format!("/api/v1/staff/{me}/deactivate"), &admin)
        .await;
    assert_eq!(deactivate.status(), StatusCode::CONFLICT);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM staff_users WHERE id = '{me}' AND role = 'tenant_admin' \
             AND deactivated_at IS NULL"
        ))
        .await,
        1
    );
    let bad_role = app
        .post_json(
            &format!("/api/v1/staff/{me}/role"),
            &admin,
            &json!({"role": "operator"}),
        )
        .await;
    assert_eq!(bad_role.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A clinician made assistant is one from the next request on.
    let clinician = app.login("a.keller").await;
    let changed = app
        .post_json(
            &format!("/api/v1/staff/{}/role", clinician.actor_id),
            &admin,
            &json!({"role": "tenant_admin"}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/staff", &clinician).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn admin_time_zone_new_york_shows_a_findings_date_there_and_bad_zones_are_refused() {
    let app = spawn_app().await;
    let admin = app.login("admin@labor-nord").await;
    let patient = app.login("max.schmidt").await;
    let max = app.user("max.schmidt").patient_ids[0].to_string();
    let finding: String = sqlx::query_scalar(
        "SELECT id FROM findings WHERE patient_id = $1 AND status = 'released' LIMIT 1",
    )
    .bind(&max)
    .fetch_one(&app.db)
    .await
    .unwrap();
    sqlx::query("UPDATE findings SET created_at = $1, released_at = $1 WHERE id = $2")
        .bind(EARLY_MORNING_IN_BERLIN)
        .bind(&finding)
        .execute(&app.db)
        .await
        .unwrap();
    let page = async || {
        app.web_get(&format!("/findings/{finding}"), &patient)
            .await
            .text()
            .await
            .unwrap()
    };
    let berlin = page().await;
    assert!(berlin.contains("10 Mar 2020"), "default zone Europe/Berlin");

    let settings = app.get_json("/api/v1/settings", &admin).await;
    assert_eq!(settings["time_zone"], "Europe/Berlin");
    for bad in [
        "Mars/Olympus",
        "",
        "Europe/Berlin\u{0}",
        "../../etc/localtime",
    ] {
        let refused = app
            .post_json("/api/v1/settings", &admin, &json!({"time_zone": bad}))
            .await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad:?}"
        );
    }
    assert_eq!(
        app.get_json("/api/v1/settings", &admin).await["time_zone"],
        "Europe/Berlin"
    );
    let set = app
        .post_json(
            "/api/v1/settings",
            &admin,
            &json!({"time_zone": "America/New_York"}),
        )
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let new_york = page().await;
    assert!(new_york.contains("9 Mar 2020"), "the facility's zone");
    assert!(!new_york.contains("10 Mar 2020"));
    // Staff of the facility see it in the same zone.
    let clinician = app.login("a.keller").await;
    let staff_page = app
        .web_get(&format!("/findings/{finding}"), &clinician)
        .await
        .text()
        .await
        .unwrap();
    assert!(staff_page.contains("9 Mar 2020"));
    // The change is audited with the zone.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'tenant_settings_change' \
             AND outcome = 'success' AND detail LIKE '%America/New_York%'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn admin_pages_list_staff_create_keys_shown_once_and_revoke_only_when_confirmed() {
    let app = spawn_app().await;
    let admin = app.login("admin@labor-nord").await;
    let staff = app.web_get("/staff", &admin).await;
    assert_eq!(staff.status(), StatusCode::OK);
    let staff = staff.text().await.unwrap();
    assert!(staff.contains("a.keller") && !staff.contains("j.petersen"));
    assert!(staff.contains("href=\"/api-keys\"") && staff.contains("href=\"/settings\""));
    let csrf = app.web_csrf(&admin).await;

    let invited = app
        .web_post_form(
            "/staff",
            &admin,
            &[
                ("csrf", &csrf),
                ("display_name", "Paula Praxis"),
                ("email", "paula@labor-nord.example"),
                ("role", "assistant"),
            ],
        )
        .await;
    assert_eq!(invited.status(), StatusCode::SEE_OTHER);
    let listed = app.web_get("/staff", &admin).await.text().await.unwrap();
    assert!(listed.contains("Paula Praxis"));

    let created = app
        .web_post_form(
            "/api-keys",
            &admin,
            &[("csrf", &csrf), ("name", "Analyser 3"), ("days", "30")],
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let created = created.text().await.unwrap();
    let start = created.find("hippo_lab_").expect("the secret, shown once");
    let secret = &created[start..start + "hippo_lab_".len() + 64];
    let list = app.web_get("/api-keys", &admin).await.text().await.unwrap();
    assert!(list.contains("Analyser 3") && !list.contains(secret));
    let too_long = app
        .web_post_form(
            "/api-keys",
            &admin,
            &[("csrf", &csrf), ("name", "Too long"), ("days", "100000")],
        )
        .await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let key_id: String = sqlx::query_scalar("SELECT id FROM api_keys WHERE name = 'Analyser 3'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let unconfirmed = app
        .web_post_form(
            &format!("/api-keys/{key_id}/revoke"),
            &admin,
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(unconfirmed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM api_keys WHERE id = '{key_id}' AND revoked_at IS NULL"
        ))
        .await,
        1
    );
    let confirmed = app
        .web_post_form(
            &format!("/api-keys/{key_id}/revoke"),
            &admin,
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let refused = crate::helpers::upload_with_key(
        &app,
        secret,
        &app.user("max.schmidt").patient_ids[0].to_string(),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let settings = app.web_get("/settings", &admin).await.text().await.unwrap();
    assert!(settings.contains("<option value=\"Europe/Berlin\" selected>"));
    let saved = app
        .web_post_form(
            "/settings",
            &admin,
            &[("csrf", &csrf), ("time_zone", "Europe/Vienna")],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let settings = app.web_get("/settings", &admin).await.text().await.unwrap();
    assert!(settings.contains("<option value=\"Europe/Vienna\" selected>"));
}

#[tokio::test]
async fn admin_load_150_concurrent_acceptances_of_one_invitation_exactly_one_wins() {
    let app = spawn_app().await;
    let admin = app.login("admin@labor-nord").await;
    let email = "race@labor-nord.example";
    invite(&app, &admin, email, "assistant").await;
    let token = mailed_token(&app, email).await;
    let (cookie, csrf, _) = invitation_form(&app, &token).await;
    let attempts = (0..150).map(|i| {
        let (cookie, csrf, token) = (cookie.clone(), csrf.clone(), token.clone());
        let app = &app;
        async move {
            let password = format!("Concurrent password number {i:03}");
            accept(app, &cookie, &csrf, &token, &password).await
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let won = answers.iter().filter(|a| a.contains(DONE)).count();
    let invalid = answers.iter().filter(|a| a.contains(INVALID)).count();
    println!(
        "150 acceptances: {won} won, {invalid} found the link used, {} refused otherwise (busy)",
        150 - won - invalid
    );
    assert_eq!(won, 1, "exactly one acceptance sets the password");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM staff_users WHERE email = '{email}' AND password_hash <> '!invited'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'invitation_accept' \
             AND outcome = 'success'"
        )
        .await,
        1
    );
}

/// Beneath the page's bounded hashing (which sheds most of a burst with
/// 429 before the store is reached), the claim itself: 200 concurrent
/// acceptances of one token in the store, exactly one sets a password.
#[tokio::test]
async fn admin_load_200_concurrent_claims_of_one_invitation_in_the_store_one_wins() {
    let app = spawn_app().await;
    let admin = app.login("admin@labor-nord").await;
    let email = "claim-race@labor-nord.example";
    invite(&app, &admin, email, "clinician").await;
    let token_hash = hippo_server::auth::token::hash_token(&mailed_token(&app, email).await);
    let invitations = app.store.unscoped_invitations();
    let origin = hippo_core::audit::RequestOrigin {
        request_id: "claim-race".into(),
        route: None,
        client_addr: None,
        user_agent: None,
    };
    let claims = (0..200).map(|i| {
        let (invitations, origin, token_hash) = (&invitations, &origin, &token_hash);
        async move {
            invitations
                .accept(token_hash, &format!("hash-{i}"), origin)
                .await
                .unwrap()
        }
    });
    let outcomes = futures_util::future::join_all(claims).await;
    let winners: Vec<_> = outcomes.iter().flatten().collect();
    assert_eq!(winners.len(), 1);
    let stored: String =
        sqlx::query_scalar("SELECT password_hash FROM staff_users WHERE email = $1")
            .bind(email)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(stored.starts_with("hash-"), "{stored}");
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'invitation_accept' \
             AND outcome = 'not_found' AND request_id = 'claim-race'"
        )
        .await,
        199
    );
}

/// The invitation goes out through the outbox as a mail of its own kind:
/// bilingual, with the one-time link, no name and no facility; the token
/// leaves the outbox row once the mail is sent, and the mailed link works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_smtp_invitation_mail_carries_the_link_and_nothing_else() {
    use crate::helpers::{NOTIFY_BASE_URL, SmtpSink, outbox_drained, test_app};
    let sink = SmtpSink::start().await;
    let app = test_app()
        .configure(|c| c.notifications = Some(sink.notify_config()))
        .spawn()
        .await;
    let admin = app.login("admin@labor-nord").await;
    let email = "mailed@labor-nord.example";
    invite(&app, &admin, email, "clinician").await;
    outbox_drained(&app.db).await;
    let mails = sink.mails();
    let mail = mails
        .iter()
        .find(|m| m.rcpt_tos == [email.to_owned()])
        .expect("the invitation mail");
    assert_eq!(mail.subject, hippo_server::notify::INVITATION_SUBJECT);
    let prefix = format!("{NOTIFY_BASE_URL}invitation?token=");
    let start = mail.body.find(&prefix).expect("the link") + prefix.len();
    let token = &mail.body[start..start + 64];
    assert!(mail.body.contains("Passwort") && mail.body.contains("password"));
    for absent in ["Nora", "Labor Nord", "labor-nord"] {
        assert!(!mail.body.contains(absent), "{absent:?} in:\n{}", mail.body);
    }
    // Sent: the plain token is gone from the outbox.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM notification_outbox WHERE recipient = '{email}' \
             AND state = 'sent' AND link_token IS NULL"
        ))
        .await,
        1
    );
    let (cookie, csrf, _) = invitation_form(&app, token).await;
    let done = accept(
        &app,
        &cookie,
        &csrf,
        token,
        "Ein langer Satz als Passwort 2026",
    )
    .await;
    assert!(done.contains(DONE), "{done}");
}
