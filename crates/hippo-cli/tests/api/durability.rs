//! Backups that restore, and writes that survive SIGKILL (issue 5): every
//! write acknowledged with 2xx is there after a restart and decrypts,
//! nothing half-written is visible, and the audit log verifies.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{
    HIPPO, ServeProcess, finding_metadata, hippo, hippo_on, login_at, test_app, upload_form,
};

async fn pdf(client: &Client, url: &str, token: &str, finding: &str) -> (StatusCode, Vec<u8>) {
    let response = client
        .get(format!("{url}/api/v1/findings/{finding}/pdf"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status(), response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_into_a_new_directory() {
    // `hippo backup` copies SQLite; PostgreSQL is backed up with pg_dump.
    let app = test_app().on_sqlite().spawn().await;
    let max = app.login("max.schmidt").await;
    let finding = max.user.finding_ids[0].to_string();
    let (_, original) = pdf(&app.client, &app.url, &max.token, &finding).await;

    let backup = app.dir.join("backup-1");
    let out = app.hippo(&["backup", "--out", backup.to_str().unwrap()]);
    assert!(out.contains("sealed blobs"), "{out}");
    // Keys are never part of a backup.
    assert!(!backup.join("keys").exists());
    assert!(
        crate::helpers::files_under(&backup)
            .iter()
            .all(|f| !f.to_string_lossy().contains(".key"))
    );

    let restored = tempfile::tempdir().unwrap();
    let keyring = app.dir.join("keys/master.keyring");
    let audit_key = app.dir.join("keys/audit-signing.key");
    let keys = [
        "--master-keyring",
        keyring.to_str().unwrap(),
        "--audit-key",
        audit_key.to_str().unwrap(),
    ];
    let mut args = vec!["restore", "--from", backup.to_str().unwrap()];
    args.extend(keys);
    hippo(&args, restored.path());
    let mut args = vec!["audit", "verify"];
    args.extend(keys);
    let verified = hippo(&args, restored.path());
    assert!(verified.contains("intact"), "{verified}");

    // The demo logins and findings work on the restored copy.
    let server = ServeProcess::start(restored.path(), &keys);
    let client = Client::new();
    let token = login_at(&client, &server.url, &max.user).await;
    let (status, restored_pdf) = pdf(&client, &server.url, &token, &finding).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(restored_pdf, original);

    // A restore never overwrites, and a damaged backup is refused.
    let again = std::process::Command::new(HIPPO)
        .args(["restore", "--from", backup.to_str().unwrap(), "--data-dir"])
        .arg(restored.path())
        .output()
        .unwrap();
    assert!(!again.status.success());
    let mut db = std::fs::read(backup.join("hippo.db")).unwrap();
    let middle = db.len() / 2;
    db[middle] ^= 0xff;
    std::fs::write(backup.join("hippo.db"), db).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let damaged = std::process::Command::new(HIPPO)
        .args(["restore", "--from", backup.to_str().unwrap(), "--data-dir"])
        .arg(fresh.path())
        .output()
        .unwrap();
    assert!(!damaged.status.success());
    assert!(String::from_utf8_lossy(&damaged.stderr).contains("does not match its manifest"));
}

/// What the load was told, with 2xx, had happened.
#[derive(Default)]
struct Acknowledged {
    patients: Vec<String>,
    /// finding → (SHA-256 of its PDF, last acknowledged status)
    findings: BTreeMap<String, (String, &'static str)>,
}

/// Every acknowledged patient and finding is there, each finding with at
/// least its acknowledged status and a PDF that decrypts to the bytes sent.
async fn still_there(client: &Client, url: &str, token: &str, acked: &Acknowledged, when: &str) {
    for patient in &acked.patients {
        let response = client
            .get(format!("{url}/api/v1/patients/{patient}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{when}: acknowledged patient {patient} lost"
        );
    }
    for (finding, (sha, status)) in &acked.findings {
        let response = client
            .get(format!("{url}/api/v1/findings/{finding}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{when}: acknowledged finding {finding} lost"
        );
        let body: Value = response.json().await.unwrap();
        let now = body["status"].as_str().unwrap();
        let allowed: &[&str] = match *status {
            "draft" => &["draft", "released", "retracted"],
            "released" => &["released", "retracted"],
            _ => &["retracted"],
        };
        assert!(
            allowed.contains(&now),
            "{when}: {finding} acknowledged {status}, now {now}"
        );
        let (code, bytes) = pdf(client, url, token, finding).await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(
            &hex::encode(Sha256::digest(&bytes)),
            sha,
            "{when}: {finding}: PDF differs"
        );
    }
}

async fn write_load(
    url: String,
    token: String,
    patient: String,
    acked: Arc<Mutex<Acknowledged>>,
    worker: usize,
) {
    let client = Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    for round in 0usize.. {
        let created = client
            .post(format!("{url}/api/v1/patients"))
            .bearer_auth(&token)
            .json(&json!({"given_name": format!("Crash{worker}"), "family_name": format!("Test{round}"), "birth_date": "1980-02-03"}))
            .send()
            .await;
        let Ok(created) = created else { return };
        if created.status() == StatusCode::CREATED {
            let body: Value = created.json().await.unwrap_or_default();
            if let Some(id) = body["id"].as_str() {
                acked.lock().unwrap().patients.push(id.to_owned());
            }
        }
        let pdf = hippo_core::file_kind::minimal_pdf(&format!(
            "crash test {worker}/{round} {}",
            "x".repeat(20_000 + round)
        ));
        let uploaded = client
            .post(format!("{url}/api/v1/patients/{patient}/findings"))
            .bearer_auth(&token)
            .multipart(upload_form(&finding_metadata(), &pdf))
            .send()
            .await;
        let Ok(uploaded) = uploaded else { return };
        if uploaded.status() != StatusCode::CREATED {
            continue;
        }
        let body: Value = uploaded.json().await.unwrap_or_default();
        let Some(id) = body["id"].as_str().map(str::to_owned) else {
            continue;
        };
        let sha = hex::encode(Sha256::digest(&pdf));
        acked
            .lock()
            .unwrap()
            .findings
            .insert(id.clone(), (sha, "draft"));
        for (step, status) in [("release", "released"), ("retract", "retracted")] {
            if step == "retract" && round % 2 == 0 {
                break;
            }
            let moved = client
                .post(format!("{url}/api/v1/findings/{id}/{step}"))
                .bearer_auth(&token)
                .send()
                .await;
            let Ok(moved) = moved else { return };
            if moved.status() == StatusCode::OK {
                acked.lock().unwrap().findings.get_mut(&id).unwrap().1 = status;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_acknowledged_before_a_sigkill_survive_it_whole_on_sqlite() {
    sigkill_under_write_load(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_acknowledged_before_a_sigkill_survive_it_whole_on_postgresql() {
    let database = crate::helpers::postgres_database().await;
    sigkill_under_write_load(Some(database)).await;
}

async fn sigkill_under_write_load(database: Option<String>) {
    // A seeded data directory with keys, served by the real binary.
    let dir = tempfile::tempdir().unwrap();
    let url = database.as_deref();
    let args: Vec<&str> = url.map(|u| vec!["--database-url", u]).unwrap_or_default();
    let world = crate::helpers::seeded_data_dir(dir.path(), url).await;
    let keller = crate::helpers::demo_user(&world, "a.keller");
    let mut server = ServeProcess::start(dir.path(), &args);
    let client = Client::new();
    let token = login_at(&client, &server.url, &keller).await;

    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let mut workers = Vec::new();
    for worker in 0..4 {
        workers.push(tokio::spawn(write_load(
            server.url.clone(),
            token.clone(),
            keller.patient_ids[worker % keller.patient_ids.len()].to_string(),
            acked.clone(),
            worker,
        )));
    }
    // Kill in the middle of the load, once a fair amount was acknowledged.
    let started = Instant::now();
    while acked.lock().unwrap().findings.len() < 12 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    for worker in workers {
        let _ = worker.await;
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(acked.findings.len() >= 12, "the load ran");
    eprintln!(
        "killed after {} acknowledged patients and {} acknowledged findings",
        acked.patients.len(),
        acked.findings.len()
    );

    let server = ServeProcess::start(dir.path(), &args);
    let token = login_at(&client, &server.url, &keller).await;
    still_there(&client, &server.url, &token, &acked, "after the kill").await;
    // Nothing half-written: every finding has its observations and a blob
    // that opens; orphans (blob written, row not) are allowed and reported.
    drop(server);
    let db = crate::helpers::test_pool(
        &database
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("hippo.db").display())),
    )
    .await;
    let incomplete: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM findings f WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.object_id = f.id) \
         OR NOT EXISTS (SELECT 1 FROM observations o WHERE o.finding_id = f.id)",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(incomplete, 0);
    db.close().await;
    let swept = hippo_on(&["blobs", "sweep", "--grace-minutes", "0"], dir.path(), url);
    assert!(swept.contains(" 0 missing"), "{swept}");
    let verified = hippo_on(&["audit", "verify"], dir.path(), url);
    assert!(verified.contains("intact"), "{verified}");
}

/// PostgreSQL is backed up with `pg_dump` (row-level security on, every
/// tenant visible through the `hippo.tenant` setting) and restored with
/// `pg_restore` into a new database; with the blob directory copied and
/// the same keys, demo logins, PDFs and audit verification work.
#[tokio::test]
async fn a_postgresql_database_restores_from_pg_dump() {
    let database = crate::helpers::postgres_database().await;
    let app = crate::helpers::test_app()
        .on_database(database.clone())
        .spawn()
        .await;
    let max = app.login("max.schmidt").await;
    let finding = max.user.finding_ids[0].to_string();
    let (_, original) = pdf(&app.client, &app.url, &max.token, &finding).await;

    let dump = app.dir.join("hippo.pgdump");
    let out = std::process::Command::new("pg_dump")
        .env("PGOPTIONS", "-c hippo.tenant=*")
        .args(["--enable-row-security", "--format=custom", "--file"])
        .arg(&dump)
        .arg(&database)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let restored_database = crate::helpers::postgres_database().await;
    let out = std::process::Command::new("pg_restore")
        .env("PGOPTIONS", "-c hippo.tenant=*")
        .args(["--no-owner", "--dbname", &restored_database])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = tempfile::tempdir().unwrap();
    for file in crate::helpers::files_under(&app.dir.join("blobs")) {
        let target = restored.path().join(file.strip_prefix(&app.dir).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&file, &target).unwrap();
    }
    let keyring = app.dir.join("keys/master.keyring");
    let audit_key = app.dir.join("keys/audit-signing.key");
    let args = [
        "--database-url",
        restored_database.as_str(),
        "--master-keyring",
        keyring.to_str().unwrap(),
        "--audit-key",
        audit_key.to_str().unwrap(),
    ];
    let mut verify = vec!["audit", "verify"];
    verify.extend(&args[2..]);
    let verified = hippo_on(&verify, restored.path(), Some(&restored_database));
    assert!(verified.contains("intact"), "{verified}");
    let server = ServeProcess::start(restored.path(), &args);
    let client = Client::new();
    let token = login_at(&client, &server.url, &max.user).await;
    let (status, restored_pdf) = pdf(&client, &server.url, &token, &finding).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(restored_pdf, original);
}

/// Kill-and-restart cycles of the crash drill (issue 9, point 6).
const CRASH_CYCLES: usize = 20;

/// Reads of one finding; the request IDs of the reads answered 200.
async fn read_load(url: String, token: String, finding: String, answered: Arc<Mutex<Vec<String>>>) {
    let client = Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    loop {
        let response = client
            .get(format!("{url}/api/v1/findings/{finding}"))
            .bearer_auth(&token)
            .send()
            .await;
        let Ok(response) = response else { return };
        let ok = response.status() == StatusCode::OK;
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        // Only a body received in full counts as a read the client got.
        if ok && response.bytes().await.is_ok() {
            answered.lock().unwrap().push(request_id);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_drill_twenty_sigkills_under_mixed_load_on_sqlite() {
    crash_drill(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_drill_twenty_sigkills_under_mixed_load_on_postgresql() {
    let database = crate::helpers::postgres_database().await;
    crash_drill(Some(database)).await;
}

/// SIGKILL at a random point of a mixed load (patient creation, uploads,
/// releases, retractions, reads), twenty times. After every restart:
/// every acknowledged write is there and its PDF decrypts, every read the
/// client received has its audit record, the log verifies, and every
/// signed tree head seen before the kill is still there, unchanged.
async fn crash_drill(database: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let url = database.as_deref();
    // Heads often, so that every cycle has some to check.
    let config = dir.path().join("drill.toml");
    std::fs::write(
        &config,
        "tree_head_every_records = 50\ntree_head_every_ms = 200\n",
    )
    .unwrap();
    let mut args: Vec<&str> = url.map(|u| vec!["--database-url", u]).unwrap_or_default();
    args.extend(["--config", config.to_str().unwrap()]);
    let world = crate::helpers::seeded_data_dir(dir.path(), url).await;
    let (keller, max) = (
        crate::helpers::demo_user(&world, "a.keller"),
        crate::helpers::demo_user(&world, "max.schmidt"),
    );
    let db = crate::helpers::test_pool(
        &database
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("hippo.db").display())),
    )
    .await;
    let client = Client::new();
    let mut all_acked = Acknowledged::default();
    let mut all_reads = Vec::new();
    let mut heads_seen: BTreeMap<i64, Vec<u8>> = BTreeMap::new();
    for cycle in 0..CRASH_CYCLES {
        let mut server = ServeProcess::start(dir.path(), &args);
        let staff = crate::helpers::login_at_with(&client, &server.url, &keller, Some(&db)).await;
        let patient = login_at(&client, &server.url, &max).await;
        let acked = Arc::new(Mutex::new(Acknowledged::default()));
        let reads = Arc::new(Mutex::new(Vec::new()));
        let mut workers = Vec::new();
        for worker in 0..3 {
            workers.push(tokio::spawn(write_load(
                server.url.clone(),
                staff.clone(),
                keller.patient_ids[worker % keller.patient_ids.len()].to_string(),
                acked.clone(),
                cycle * 10 + worker,
            )));
        }
        for _ in 0..3 {
            workers.push(tokio::spawn(read_load(
                server.url.clone(),
                patient.clone(),
                max.finding_ids[0].to_string(),
                reads.clone(),
            )));
        }
        // A random point: after 100 to 1,500 ms of load.
        let pause = 100 + rand::random::<u64>() % 1400;
        tokio::time::sleep(Duration::from_millis(pause)).await;
        for (size, root) in sqlx::query_as::<_, (i64, Vec<u8>)>("SELECT size, root FROM tree_heads")
            .fetch_all(&db)
            .await
            .unwrap()
        {
            heads_seen.insert(size, root);
        }
        server.kill();
        for worker in workers {
            let _ = worker.await;
        }
        let acked = std::mem::take(&mut *acked.lock().unwrap());
        let reads = std::mem::take(&mut *reads.lock().unwrap());
        // Restart and check what this cycle acknowledged (and, after the
        // last kill, everything of all cycles).
        let last = cycle + 1 == CRASH_CYCLES;
        all_acked.patients.extend(acked.patients.iter().cloned());
        all_acked
            .findings
            .extend(acked.findings.iter().map(|(k, v)| (k.clone(), v.clone())));
        all_reads.extend(reads.iter().cloned());
        let (check, check_reads) = if last {
            (&all_acked, &all_reads)
        } else {
            (&acked, &reads)
        };
        let server = ServeProcess::start(dir.path(), &args);
        let token = login_at(&client, &server.url, &keller).await;
        still_there(
            &client,
            &server.url,
            &token,
            check,
            &format!("cycle {cycle}"),
        )
        .await;
        drop(server);
        let recorded: std::collections::HashSet<String> = sqlx::query_scalar(
            "SELECT request_id FROM audit_records WHERE action = 'finding_read' AND outcome = 'success'",
        )
        .fetch_all(&db)
        .await
        .unwrap()
        .into_iter()
        .collect();
        for read in check_reads {
            assert!(
                recorded.contains(read),
                "cycle {cycle}: read {read} answered without its audit record"
            );
        }
        for (size, root) in &heads_seen {
            let stored: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT root FROM tree_heads WHERE size = $1")
                    .bind(size)
                    .fetch_optional(&db)
                    .await
                    .unwrap();
            assert_eq!(
                stored.as_ref(),
                Some(root),
                "cycle {cycle}: head at {size} changed or vanished"
            );
        }
        // verify re-checks every stored head (the ones above among them)
        // against the recomputed log.
        let verified = hippo_on(&["audit", "verify"], dir.path(), url);
        assert!(verified.contains("intact"), "cycle {cycle}: {verified}");
    }
    eprintln!(
        "{CRASH_CYCLES} kills: {} patients, {} findings, {} reads acknowledged; {} heads checked",
        all_acked.patients.len(),
        all_acked.findings.len(),
        all_reads.len(),
        heads_seen.len()
    );
    assert!(
        all_acked.findings.len() >= CRASH_CYCLES,
        "the write load ran"
    );
    assert!(all_reads.len() >= CRASH_CYCLES, "the read load ran");
    assert!(!heads_seen.is_empty(), "heads were issued and checked");
    db.close().await;
}
