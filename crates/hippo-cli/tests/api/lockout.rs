//! Issue 12 point 2: login lockout that an attacker cannot turn against the
//! victim. Attackers connect from other loopback addresses (127.0.0.2 and
//! up, the source address of their own client), the victim from 127.0.0.1;
//! the forwarding-header tests go through a trusted-proxy configuration.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, test_app, upload_with_key};

/// A client whose connections come from `127.0.0.<host>`.
fn client_from(host: u8) -> Client {
    Client::builder()
        .local_address(IpAddr::from([127, 0, 0, host]))
        .build()
        .unwrap()
}

async fn login_from(app: &TestApp, client: &Client, email: &str, password: &str) -> Response {
    client
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn login_forwarded(app: &TestApp, forwarded_for: &str, email: &str, pw: &str) -> Response {
    app.client
        .post(format!("{}/api/v1/auth/login", app.url))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": pw}))
        .send()
        .await
        .unwrap()
}

fn retry_after(response: &Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .expect("429 without Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn lockout_attacker_hammering_the_victim_locks_out_only_the_attacker() {
    // A long first wait, so that a slow machine cannot see it run out.
    let app = test_app()
        .configure(|c| c.login_lockout.first_backoff = Duration::from_secs(30))
        .spawn()
        .await;
    let max = app.user("max.schmidt");
    let attacker = client_from(2);
    let mut statuses = Vec::new();
    let mut last_429 = None;
    for _ in 0..12 {
        let r = login_from(&app, &attacker, &max.email, "guess-Sommer2026").await;
        statuses.push(r.status());
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            last_429 = Some(retry_after(&r));
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], "rate_limited");
        }
    }
    // Five free failures, then the attacker's own pair is in backoff.
    assert!(statuses[..5].iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    assert!(
        statuses[5..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS)
    );
    assert!(last_429.unwrap() >= 1);
    // The victim, from their own address, gets in at once.
    assert_eq!(
        login_from(&app, &client_from(1), &max.email, &max.password)
            .await
            .status(),
        StatusCode::OK
    );
    // Even the right password from the attacker's address waits.
    assert_eq!(
        login_from(&app, &attacker, &max.email, &max.password)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Every rate-limited attempt names the targeted account, none the
    // typed password.
    let max_id = app.actor_id(&max.email).await;
    let limited = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'login' AND outcome = 'rate_limited' \
             AND resource_id = '{max_id}' AND client_addr = '127.0.0.2'"
        ))
        .await;
    assert_eq!(limited, 8);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_records WHERE action = 'login' AND outcome = 'rate_limited' AND resource_id IS NULL").await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_records WHERE detail LIKE '%Sommer2026%'")
            .await,
        0
    );
}

#[tokio::test]
async fn lockout_steady_guessing_never_keeps_the_victim_out() {
    // Today's attack: one wrong try every 12 s kept the victim out. Here
    // the attacker tries as often as the server lets it (far more often),
    // the account's ceiling is low, and the victim logs in between tries.
    let app = test_app()
        .configure(|c| {
            c.login_attempts_per_account_per_minute = 3;
            c.login_lockout.first_backoff = Duration::from_millis(50);
        })
        .spawn()
        .await;
    let max = app.user("max.schmidt");
    let attacker = client_from(3);
    let victim = client_from(1);
    let mut rejected = 0;
    for round in 0..24 {
        let r = login_from(&app, &attacker, &max.email, "wrong-password-1").await;
        if r.status() == StatusCode::UNAUTHORIZED {
            rejected += 1;
        } else {
            assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        }
        if round % 3 == 0 {
            assert_eq!(
                login_from(&app, &victim, &max.email, &max.password)
                    .await
                    .status(),
                StatusCode::OK,
                "victim locked out in round {round}"
            );
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    // The backoff grows: far fewer guesses were checked than tried.
    assert!(rejected < 12, "{rejected} guesses checked");
}

#[tokio::test]
async fn lockout_distributed_guessing_slows_new_sources_but_not_the_owner() {
    let app = test_app()
        .configure(|c| c.login_attempts_per_account_per_minute = 10)
        .spawn()
        .await;
    let max = app.user("max.schmidt");
    // Five sources, two guesses each: the account's ceiling is reached.
    for host in 10..15 {
        let c = client_from(host);
        for _ in 0..2 {
            assert_eq!(
                login_from(&app, &c, &max.email, "wrong-password-2")
                    .await
                    .status(),
                StatusCode::UNAUTHORIZED
            );
        }
    }
    // A new attacking source now gets one guess, then waits.
    let fresh = client_from(30);
    assert_eq!(
        login_from(&app, &fresh, &max.email, "wrong-password-2")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_from(&app, &fresh, &max.email, "wrong-password-2")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // The owner from a new address with the right password: in.
    assert_eq!(
        login_from(&app, &client_from(31), &max.email, &max.password)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn lockout_hundreds_of_concurrent_wrong_logins_from_many_addresses() {
    let app = test_app().spawn().await;
    let max = app.user("max.schmidt");
    let clients: Vec<Client> = (2..102).map(client_from).collect();
    // 300 wrong logins at once, three from each of 100 addresses.
    let attempts = clients.iter().cycle().take(300).map(|c| {
        let app = &app;
        let email = max.email.clone();
        async move {
            login_from(app, c, &email, "wrong-password-3")
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert!(
        statuses
            .iter()
            .all(|s| matches!(*s, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::UNAUTHORIZED));
    // The victim, from an address of their own, still logs in.
    assert_eq!(
        login_from(&app, &client_from(200), &max.email, &max.password)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn lockout_storm_raises_an_alert_the_operator_sees() {
    let app = test_app()
        .configure(|c| {
            c.anomaly_every = Duration::from_millis(100);
            c.anomaly_thresholds.rate_limited_logins = 5;
            c.login_lockout.first_backoff = Duration::from_secs(30);
        })
        .spawn()
        .await;
    let max = app.user("max.schmidt");
    let max_id = app.actor_id(&max.email).await;
    let attacker = client_from(4);
    for _ in 0..12 {
        login_from(&app, &attacker, &max.email, "wrong-password-4").await;
    }
    let operator = app.login("oncall@").await;
    let mut subjects = Vec::new();
    for _ in 0..100 {
        let alerts: Value = app.get_json("/api/v1/alerts", &operator).await;
        subjects = alerts
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["rule"] == "lockout_storm")
            .map(|a| a["actor"].as_str().unwrap_or_default().to_owned())
            .collect();
        if subjects.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    subjects.sort();
    assert_eq!(
        subjects,
        vec![
            format!("account:{max_id}"),
            "anonymous@127.0.0.4".to_owned()
        ]
    );
}

#[tokio::test]
async fn lockout_forwarded_for_is_ignored_without_trusted_proxies() {
    let app = test_app().spawn().await;
    let max = app.user("max.schmidt");
    login_forwarded(&app, "203.0.113.7", &max.email, "wrong-password-5").await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_records WHERE action = 'login' AND client_addr = '127.0.0.1'").await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_records WHERE client_addr = '203.0.113.7'")
            .await,
        0
    );
}

#[tokio::test]
async fn lockout_forwarded_for_from_a_trusted_proxy_names_the_client() {
    let app = test_app()
        .configure(|c| {
            c.trusted_proxies =
                hippo_server::client_addr::parse_trusted_proxies("127.0.0.1/32,::1/128").unwrap();
            c.login_lockout.first_backoff = Duration::from_secs(30);
        })
        .spawn()
        .await;
    let max = app.user("max.schmidt");
    // An attacker behind the proxy spoofs a chain: the hop our proxy saw
    // (203.0.113.7) is the client, "198.51.100.1" is cut off.
    for _ in 0..8 {
        login_forwarded(&app, "198.51.100.1, 203.0.113.7", &max.email, "wrong-6").await;
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_records WHERE action = 'login' AND client_addr = '203.0.113.7'").await,
        8
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_records WHERE client_addr IN ('198.51.100.1', '127.0.0.1')"
        )
        .await,
        0
    );
    // The attacker's source is locked, the victim's (behind the same
    // proxy) is not.
    assert_eq!(
        login_forwarded(&app, "203.0.113.7", &max.email, &max.password)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_forwarded(&app, "192.0.2.44", &max.email, &max.password)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn lockout_api_keys_expire_are_refused_and_listed_as_expired() {
    let app = test_app().spawn().await;
    let admin = app.login("admin@labor-nord").await;
    // Longer than the maximum, or zero days: refused.
    for days in [0, 366] {
        let r = app
            .post_json(
                "/api/v1/api-keys",
                &admin,
                &json!({"name": "too long", "expires_in_days": days}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{days} days");
    }
    // The default is a year.
    let created: Value = app
        .post_json("/api/v1/api-keys", &admin, &json!({"name": "Analyser 3"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["expired"], false);
    let expires = created["expires_at"].as_str().unwrap().to_owned();
    let created_at = created["created_at"].as_str().unwrap().to_owned();
    assert_eq!(
        &expires[..4],
        &(created_at[..4].parse::<i32>().unwrap() + 1).to_string()
    );
    let secret = created["secret"].as_str().unwrap().to_owned();
    let key_id = created["id"].as_str().unwrap().to_owned();
    let patient = app.user("max.schmidt").patient_ids[0].to_string();
    assert_eq!(
        upload_with_key(&app, &secret, &patient).await.status(),
        StatusCode::CREATED
    );
    // Its time runs out: 401, and the admin sees it as expired.
    sqlx::query("UPDATE api_keys SET expires_at = $1 WHERE id = $2")
        .bind(hippo_core::time_util::now_millis() - 1)
        .bind(&key_id)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(
        upload_with_key(&app, &secret, &patient).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let listed: Value = app.get_json("/api/v1/api-keys", &admin).await;
    let key = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == key_id.as_str())
        .unwrap();
    assert_eq!(key["expired"], true);
}
