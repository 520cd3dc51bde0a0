//! Encrypted blob throughput and findings-list latency (issue 5), through
//! the real server over loopback HTTP, plus the sealing alone. Prints a
//! Markdown table for docs/BENCHMARKS.md.
//!
//! cargo bench -p hippo-bench --bench blobs -- [ROUNDS]
//!
//! With `HIPPO_BENCH_POSTGRES` (an admin URL such as
//! `postgres://hippo:hippo@127.0.0.1/postgres`) the server part runs a
//! second time on a fresh PostgreSQL database.

use std::time::Instant;

use hippo_crypto::{DataKey, ObjectBinding};
use serde_json::{Value, json};

mod common;

const MB: f64 = 1_000_000.0;

fn percentile(mut xs: Vec<f64>, p: f64) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[((xs.len() as f64 - 1.0) * p).round() as usize]
}

/// A 5 MB PDF (a scanned report's size) that passes the strict upload
/// check: one page whose content stream is 5 MB of pseudo-random hex.
fn five_mb_pdf() -> Vec<u8> {
    let mut data = String::with_capacity(5_000_000);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while data.len() < 4_999_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.push_str(&format!("{x:016x}"));
    }
    hippo_core::file_kind::pdf_with_objects(&[
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{data}\nendstream",
            data.len() + 1
        ),
    ])
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
fn main() {
    let args: Vec<String> = std::env::args().filter(|a| !a.starts_with("--")).collect();
    let rounds: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let pdf = five_mb_pdf();

    // 1. Sealing alone (XChaCha20-Poly1305, one core).
    let key = DataKey::generate().unwrap();
    let binding = ObjectBinding {
        tenant: "t",
        kind: "finding_pdf",
        object_id: "o",
    };
    let started = Instant::now();
    let mut sealed = Vec::new();
    for _ in 0..rounds {
        sealed = key.seal(&binding, pdf.clone()).unwrap();
    }
    let seal_mbs = (pdf.len() * rounds) as f64 / MB / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for _ in 0..rounds {
        assert_eq!(key.open(&binding, &sealed).unwrap().len(), pdf.len());
    }
    let open_mbs = (pdf.len() * rounds) as f64 / MB / started.elapsed().as_secs_f64();

    println!("| measure ({rounds} rounds, 5 MB PDF) | result |");
    println!("| --- | --- |");
    println!("| seal (XChaCha20-Poly1305, in memory, one core) | **{seal_mbs:.0} MB/s** |");
    println!("| open (in memory, one core) | **{open_mbs:.0} MB/s** |");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        through_the_server("SQLite", None, rounds, &pdf).await;
        if let Ok(admin) = std::env::var("HIPPO_BENCH_POSTGRES") {
            let url = common::fresh_postgres_database(&admin, "hippo_bench").await;
            through_the_server("PostgreSQL", Some(url), rounds, &pdf).await;
        }
    });
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
async fn through_the_server(
    backend: &str,
    database_url: Option<String>,
    rounds: usize,
    pdf: &[u8],
) {
    let pdf = pdf.to_vec();
    {
        let demo = common::demo_server(database_url).await;
        let (world, url) = (&demo.world, demo.url.clone());
        let client = reqwest::Client::new();
        let login = |u: hippo_cli::demo::DemoUser| {
            let (client, url) = (client.clone(), url.clone());
            async move { hippo_bench::demo_login(&client, &url, &u).await.unwrap() }
        };
        let user = |prefix: &str| {
            world
                .users
                .iter()
                .find(|u| u.email.starts_with(prefix))
                .unwrap()
                .clone()
        };
        let keller = user("a.keller");
        let staff = login(keller.clone()).await;
        let patient = keller.patient_ids[0];

        // 2. Upload: multipart over HTTP, sealed, blob written and fsynced,
        //    row and audit record committed.
        let metadata = json!({"title": "Bench", "observations": [{"code": "718-7", "display": "Hb", "value": 14.0, "unit": "g/dl"}]});
        let mut ids = Vec::new();
        let mut upload_s = Vec::new();
        for _ in 0..rounds {
            let form = reqwest::multipart::Form::new()
                .text("metadata", metadata.to_string())
                .part(
                    "pdf",
                    reqwest::multipart::Part::bytes(pdf.clone())
                        .file_name("r.pdf")
                        .mime_str("application/pdf")
                        .unwrap(),
                );
            let s = Instant::now();
            let response = client
                .post(format!("{url}/api/v1/patients/{patient}/findings"))
                .bearer_auth(&staff)
                .multipart(form)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
            let body: Value = response.json().await.unwrap();
            upload_s.push(s.elapsed().as_secs_f64());
            ids.push(body["id"].as_str().unwrap().to_owned());
        }
        // 3. Download: read, opened, audited, sent.
        let mut download_s = Vec::new();
        for id in &ids {
            let s = Instant::now();
            let bytes = client
                .get(format!("{url}/api/v1/findings/{id}/pdf"))
                .bearer_auth(&staff)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            download_s.push(s.elapsed().as_secs_f64());
            assert_eq!(bytes.len(), pdf.len());
        }
        // 4. Findings lists: a patient's own list and a staff member's list
        //    of one patient's findings.
        let max = user("max.schmidt");
        let own = login(max.clone()).await;
        let mut lists = Vec::new();
        for (name, token, path) in [
            ("patient: own findings", &own, "/api/v1/findings".to_owned()),
            (
                "staff: findings of one patient",
                &staff,
                format!("/api/v1/patients/{patient}/findings"),
            ),
        ] {
            let mut xs = Vec::new();
            for _ in 0..200 {
                let s = Instant::now();
                let response = client
                    .get(format!("{url}{path}"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
                xs.push(s.elapsed().as_secs_f64() * 1000.0);
            }
            lists.push((name, percentile(xs.clone(), 0.5), percentile(xs, 0.95)));
        }

        let size_mb = pdf.len() as f64 / MB;
        let mbs = |xs: &[f64]| size_mb * xs.len() as f64 / xs.iter().sum::<f64>();
        println!(
            "| {backend}: upload over HTTP (multipart, seal, fsynced blob, row + audit commit) | **{:.0} MB/s** (p50 {:.1} ms per PDF) |",
            mbs(&upload_s),
            percentile(upload_s.clone(), 0.5) * 1000.0
        );
        println!(
            "| {backend}: download over HTTP (read blob, open, audit, send) | **{:.0} MB/s** (p50 {:.1} ms per PDF) |",
            mbs(&download_s),
            percentile(download_s.clone(), 0.5) * 1000.0
        );
        for (name, p50, p95) in lists {
            println!(
                "| findings list, {backend}, {name} (200 requests) | p50 **{p50:.2} ms**, p95 {p95:.2} ms |"
            );
        }
        drop(demo);
    }
}
