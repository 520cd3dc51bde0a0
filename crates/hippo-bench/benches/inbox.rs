//! The staff inbox at scale (issue 11): one facility with 10,000 threads
//! (seeded through the real API: sealed subject and body, audit record),
//! then the latency of the inbox's first page through the real server
//! over loopback HTTP — unfiltered, unread only, open only — and of a
//! later page. Prints a Markdown table for docs/BENCHMARKS.md.
//!
//! cargo bench -p hippo-bench --bench inbox -- [THREADS] [ROUNDS]
//!
//! With `HIPPO_BENCH_POSTGRES` (an admin URL) it runs a second time on a
//! fresh PostgreSQL database.

use std::time::Instant;

use serde_json::{Value, json};

mod common;

fn percentile(mut xs: Vec<f64>, p: f64) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[((xs.len() as f64 - 1.0) * p).round() as usize]
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
fn main() {
    let args: Vec<String> = std::env::args().filter(|a| !a.starts_with("--")).collect();
    let threads: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!("| backend | threads | query | p50 ms | p95 ms |");
        println!("| --- | --- | --- | --- | --- |");
        inbox("SQLite", None, threads, rounds).await;
        if let Ok(admin) = std::env::var("HIPPO_BENCH_POSTGRES") {
            let url = common::fresh_postgres_database(&admin, "hippo_bench_inbox").await;
            inbox("PostgreSQL", Some(url), threads, rounds).await;
        }
    });
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
async fn inbox(backend: &str, database_url: Option<String>, threads: usize, rounds: usize) {
    let analyze_url = database_url.clone();
    // Keeps the server and its data directory alive to the end.
    let demo = common::demo_server(database_url).await;
    let (world, url) = (&demo.world, demo.url.clone());
    let client = reqwest::Client::new();
    let user = |prefix: &str| {
        world
            .users
            .iter()
            .find(|u| u.email.starts_with(prefix))
            .unwrap()
            .clone()
    };
    let login = |prefix: &str| {
        let (client, url, u) = (client.clone(), url.clone(), user(prefix));
        async move { hippo_bench::demo_login(&client, &url, &u).await.unwrap() }
    };
    let staff = login("a.keller").await;
    let patients = user("a.keller").patient_ids;

    // Seed through the API, 8 writers at a time; every tenth thread gets
    // a patient answer so that the unread filter has something to find.
    let started = Instant::now();
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (client, url, staff, patients) =
                (client.clone(), url.clone(), staff.clone(), patients.clone());
            tokio::spawn(async move {
                for n in (w..threads).step_by(8) {
                    let patient = patients[n % patients.len()];
                    let response = client
                        .post(format!("{url}/api/v1/threads"))
                        .bearer_auth(&staff)
                        .json(&json!({"subject": format!("Befund {n}"), "body": "Bitte melden Sie sich.", "patient_id": patient}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 201);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let seed_s = started.elapsed().as_secs_f64();
    eprintln!("{backend}: seeded {threads} threads in {seed_s:.1} s");
    // Right after a bulk load PostgreSQL's statistics still say "empty
    // table" and it joins all 10,000 threads before sorting (18 ms);
    // autovacuum would analyze soon after, so measure the settled state.
    if let Some(url) = &analyze_url {
        let pool = sqlx::AnyPool::connect(url).await.unwrap();
        sqlx::query("ANALYZE").execute(&pool).await.unwrap();
        pool.close().await;
    }
    let patient = login("max.schmidt").await;
    let page: Value = client
        .get(format!("{url}/api/v1/threads?limit=200"))
        .bearer_auth(&patient)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for t in page["threads"].as_array().unwrap().iter().step_by(10) {
        client
            .post(format!(
                "{url}/api/v1/threads/{}/messages",
                t["id"].as_str().unwrap()
            ))
            .bearer_auth(&patient)
            .json(&json!({"body": "Danke!"}))
            .send()
            .await
            .unwrap();
    }
    let deep: Value = client
        .get(format!("{url}/api/v1/threads?limit=200"))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let before = deep["next_before"].as_str().unwrap().to_owned();

    for (label, query) in [
        ("first page (50)", "limit=50".to_owned()),
        ("first page, unread only", "limit=50&unread=true".to_owned()),
        ("first page, open only", "limit=50&status=open".to_owned()),
        ("page after 200", format!("limit=50&before={before}")),
    ] {
        let mut ms = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let s = Instant::now();
            let response = client
                .get(format!("{url}/api/v1/threads?{query}"))
                .bearer_auth(&staff)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            assert!(!body["threads"].as_array().unwrap().is_empty());
            ms.push(s.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "| {backend} | {threads} | {label} | {:.2} | {:.2} |",
            percentile(ms.clone(), 0.5),
            percentile(ms, 0.95)
        );
    }
}
