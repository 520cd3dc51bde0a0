//! Two instances on one PostgreSQL database, and a switch flipping under
//! concurrent requests.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::helpers::{ServeProcess, login_at, postgres_database, seeded_data_dir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgresql_share_switches_within_the_polling_bound() {
    let database = postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let world = seeded_data_dir(dir.path(), Some(&database)).await;
    let args = ["--database-url", database.as_str()];
    let a = ServeProcess::start(dir.path(), &args);
    // B polls once a minute: within the bound below only the change's
    // NOTIFY can reach it.
    let slow = dir.path().join("slow-poll.toml");
    std::fs::write(&slow, "switch_poll_ms = 60000\n").unwrap();
    let b = ServeProcess::start(
        dir.path(),
        &[
            "--database-url",
            database.as_str(),
            "--config",
            slow.to_str().unwrap(),
        ],
    );
    let client = reqwest::Client::new();
    let user = |prefix: &str| {
        world
            .users
            .iter()
            .find(|u| u.email.starts_with(prefix))
            .unwrap()
            .clone()
    };
    let (oncall, max) = (user("oncall@"), user("max.schmidt"));
    let operator = login_at(&client, &a.url, &oncall).await;
    let patient = login_at(&client, &b.url, &max).await;
    let finding = max.finding_ids[0];
    let read_on_b = || async {
        client
            .get(format!("{}/api/v1/findings/{finding}", b.url))
            .bearer_auth(&patient)
            .send()
            .await
            .unwrap()
    };
    assert_eq!(read_on_b().await.status(), StatusCode::OK);
    let change = |state: &str| {
        let body = json!({"service": "findings.read", "state": state, "reason": "pg test", "message": USER_MESSAGE});
        client
            .post(format!("{}/api/v1/switches", a.url))
            .bearer_auth(&operator)
            .json(&body)
            .send()
    };
    assert_eq!(change("off").await.unwrap().status(), StatusCode::OK);
    let mut refused = None;
    for tries in 1..=TRIES {
        let response = read_on_b().await;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            println!("instance B refused at read {tries} after the change on A");
            refused = Some(response);
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    let refused = refused.expect("instance B never refused within the polling bound");
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["message"], USER_MESSAGE);
    assert_eq!(change("on").await.unwrap().status(), StatusCode::OK);
    let mut served = false;
    for tries in 1..=TRIES {
        if read_on_b().await.status() == StatusCode::OK {
            println!("instance B served again at read {tries}");
            served = true;
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    assert!(
        served,
        "instance B never served again within the polling bound"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_flipping_under_250_concurrent_requests_gives_success_or_a_clean_503() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let findings_before = app.count("SELECT COUNT(*) FROM findings").await;
    let blobs_before = app.count("SELECT COUNT(*) FROM blobs").await;
    let done = std::sync::atomic::AtomicBool::new(false);
    // Requests go out in waves, wave n once the switch has flipped n
    // times, so that they meet the switch in both states (sent all at
    // once, every one passes the gate before the first flip commits).
    let (flipped, watch) = tokio::sync::watch::channel(0usize);
    let after_flips = |n: usize| {
        let mut watch = watch.clone();
        async move {
            watch.wait_for(|&flips| flips >= n).await.unwrap();
        }
    };
    let uploads = (0..200).map(|i| {
        let wave = after_flips(i / 20);
        async {
            wave.await;
            let r = probe(&app, &f, Service::FindingsUpload).await;
            ("upload", r.status(), r.text().await.unwrap())
        }
    });
    let reads = (0..50).map(|i| {
        let wave = after_flips(i / 5);
        async {
            wave.await;
            let r = probe(&app, &f, Service::FindingsRead).await;
            ("read", r.status(), r.text().await.unwrap())
        }
    });
    let requests = async {
        let answers = tokio::join!(join_all(uploads), join_all(reads));
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        answers
    };
    // Off and on again, for as long as any request is in flight.
    let flips = async {
        let mut flips = 0usize;
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            let state = if flips.is_multiple_of(2) { "off" } else { "on" };
            switch_ok(&app, &f.operator, "findings.upload", None, state).await;
            flips += 1;
            flipped.send_replace(flips);
        }
        flips
    };
    let ((answers, reads), flips) = tokio::join!(requests, flips);
    let mut created = 0i64;
    let mut refused = 0;
    for (what, status, body) in answers.iter().chain(reads.iter()) {
        match *status {
            StatusCode::CREATED | StatusCode::OK => {
                if *what == "upload" {
                    assert_eq!(*status, StatusCode::CREATED);
                    created += 1;
                }
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                let body: Value = serde_json::from_str(body).unwrap();
                let code = body["error"]["code"].as_str().unwrap();
                assert!(code == "service_off" || code == "overloaded", "{body}");
                assert_eq!(*what, "upload", "reads are not switched");
                refused += 1;
            }
            other => panic!("{what}: {other} {body}"),
        }
    }
    println!("{created} uploads stored, {refused} refused while the switch flipped {flips} times");
    assert_eq!(created + refused as i64, 200);
    // The switch flipped all the time the 200 uploads took: both answers
    // occur (each flip is a committed change, so the server spent about
    // half of that time with uploads off).
    assert!(flips >= 2 && created > 0 && refused > 0, "{flips} flips");
    // Every 201 is one whole finding, every 503 none.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM findings").await,
        findings_before + created
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM blobs").await,
        blobs_before + created
    );
    switch_ok(&app, &f.operator, "findings.upload", None, "on").await;
    assert_eq!(
        probe(&app, &f, Service::FindingsUpload).await.status(),
        StatusCode::CREATED
    );
}

/// A change whose NOTIFY never arrives (written without one, as if the
/// listener had been disconnected at that moment) still reaches the
/// server through the polling fallback.
#[tokio::test]
async fn a_lost_notification_on_postgresql_is_caught_by_polling() {
    let app = app_builder()
        .on_database(postgres_database().await)
        .spawn()
        .await;
    let f = fixture(&app).await;
    assert_eq!(
        probe(&app, &f, Service::FindingsRead).await.status(),
        StatusCode::OK
    );
    sqlx::query(
        "INSERT INTO service_switches \
         (service, scope, tenant_id, state, reason, user_message, changed_by, changed_at) \
         VALUES ('findings.read', '*', NULL, 'off', 'no notify', $1, 'test', 0)",
    )
    .bind(USER_MESSAGE)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("UPDATE service_switch_version SET version = version + 1 WHERE id = 1")
        .execute(&app.db)
        .await
        .unwrap();
    eventually("the poll picks up the silent change", || async {
        probe(&app, &f, Service::FindingsRead).await.status() == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    assert_json_off(probe(&app, &f, Service::FindingsRead).await, "after poll").await;
}
