//! Anomaly rules raise alerts that reach the log, the operator API and a
//! webhook: a decoy (honeytoken) patient touched, counted-up identifiers,
//! one actor touching many patients.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::helpers::{TestApp, test_app};

/// A webhook receiver on loopback; returns the bodies it got.
async fn webhook() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/alerts", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0u8; 16 * 1024];
            let mut read = 0;
            loop {
                let n = socket.read(&mut buf[read..]).await.unwrap_or(0);
                read += n;
                let text = String::from_utf8_lossy(&buf[..read]).to_string();
                if n == 0 || text.contains("\r\n\r\n") && text.trim_end().ends_with('}') {
                    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
                    let _ = socket.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await;
                    let _ = tx.send(body);
                    break;
                }
            }
        }
    });
    (url, rx)
}

async fn wait_for_alert(app: &TestApp, rule: &str) -> Value {
    let operator = app.login("oncall@").await;
    for _ in 0..100 {
        let alerts: Value = app.get_json("/api/v1/alerts", &operator).await;
        if let Some(a) = alerts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["rule"] == rule)
        {
            return a.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {rule} alert raised");
}

#[tokio::test]
async fn touching_a_decoy_patient_raises_an_alert_everywhere() {
    let (url, mut received) = webhook().await;
    let app = test_app()
        .configure(|c| {
            c.anomaly_every = Duration::from_millis(50);
            c.alert_webhook = Some(url);
        })
        .spawn()
        .await;
    let admin = app.login("admin@labor-nord").await;
    let decoy: Value = app
        .post_json(
            "/api/v1/patients",
            &admin,
            &json!({"given_name": "Hanna", "family_name": "Lockvogel", "birth_date": "1970-07-07", "decoy": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    let decoy_id = decoy["id"].as_str().unwrap().to_owned();
    assert!(
        decoy.get("decoy").is_none(),
        "the flag is not shown to staff"
    );
    // Creating it raises nothing; an insider opening it does.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let clinician = app.login("a.keller").await;
    assert_eq!(
        app.get(&format!("/api/v1/patients/{decoy_id}"), &clinician)
            .await
            .status(),
        StatusCode::OK
    );

    let alert = wait_for_alert(&app, "honeytoken").await;
    assert_eq!(alert["patient_id"], decoy_id.as_str());
    assert_eq!(
        alert["actor"],
        format!("clinician:{}", clinician.actor_id).as_str()
    );
    let body = tokio::time::timeout(Duration::from_secs(5), received.recv())
        .await
        .unwrap()
        .unwrap();
    let posted: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(posted["rule"], "honeytoken");
    assert_eq!(posted["patient_id"], decoy_id.as_str());
    // One alert per actor and decoy, however often it is touched.
    app.get(&format!("/api/v1/patients/{decoy_id}"), &clinician)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let operator = app.login("oncall@").await;
    let alerts: Value = app.get_json("/api/v1/alerts", &operator).await;
    let honeytokens = alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["rule"] == "honeytoken")
        .count();
    assert_eq!(honeytokens, 1);
    // The operator console lists it too.
    let html = app
        .web_get("/alerts", &operator)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("honeytoken") && html.contains(&decoy_id),
        "{html}"
    );
}

#[tokio::test]
async fn counting_up_identifiers_and_touching_many_patients_raise_alerts() {
    let app = test_app()
        .configure(|c| {
            c.anomaly_every = Duration::from_millis(50);
            c.anomaly_thresholds.distinct_patients = 4;
        })
        .spawn()
        .await;
    let max = app.login("max.schmidt").await;
    for n in 1..=4 {
        assert_eq!(
            app.get(&format!("/api/v1/findings/{n}"), &max)
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
    }
    let probing = wait_for_alert(&app, "sequential_probing").await;
    assert_eq!(
        probing["actor"],
        format!("patient:{}", max.actor_id).as_str()
    );

    // The assistant seeded nothing: only her own reads can trip the rule.
    let operator = app.login("oncall@").await;
    let assistant = app.login("l.vogel").await;
    let hers = format!("assistant:{}", assistant.actor_id);
    let find = |alerts: &Value| {
        alerts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["rule"] == "many_patients" && a["actor"] == hers.as_str())
            .cloned()
    };
    // Her inbox lists a thread of every patient of the facility: a page
    // of many patients, which is daily work and raises nothing.
    let clinician = app.login("a.keller").await;
    for p in &assistant.user.patient_ids {
        let started = app
            .post_json(
                "/api/v1/threads",
                &clinician,
                &serde_json::json!({"subject": "Termin", "body": "Bitte melden Sie sich.",
                    "patient_id": p.to_string()}),
            )
            .await;
        assert_eq!(started.status(), StatusCode::CREATED);
    }
    let inbox = app.get_json("/api/v1/threads", &assistant).await;
    let listed: std::collections::BTreeSet<&str> = inbox["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["patient_id"].as_str().unwrap())
        .collect();
    assert!(listed.len() >= 4, "{inbox}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(find(&app.get_json("/api/v1/alerts", &operator).await).is_none());
    for p in &assistant.user.patient_ids {
        app.get(&format!("/api/v1/patients/{p}"), &assistant).await;
    }
    let mut many = None;
    for _ in 0..100 {
        many = find(&app.get_json("/api/v1/alerts", &operator).await);
        if many.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let many = many.expect("many_patients alert for the assistant");
    assert!(many["count"].as_i64().unwrap() >= 4);
}

#[tokio::test]
async fn the_rules_also_run_over_history_from_the_cli() {
    // No watcher in the server: only the CLI scan can find it.
    let app = test_app()
        .configure(|c| c.anomaly_every = Duration::from_secs(3600))
        .spawn()
        .await;
    let max = app.login("max.schmidt").await;
    for n in 1..=3 {
        app.get(&format!("/api/v1/findings/{n}"), &max).await;
    }
    let out = app
        .command()
        .args([
            "forensics",
            "anomalies",
            "--reason",
            "scan history for anomalies",
            "--format",
            "json",
            "--data-dir",
        ])
        .arg(&app.dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        alerts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["rule"] == "sequential_probing"
                && a["actor"] == format!("patient:{}", max.actor_id).as_str())
    );
}
