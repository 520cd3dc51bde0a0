//! Many instances (issue 5): two `hippo serve` processes on one PostgreSQL
//! database serve the same tenants. A session made on one works on the
//! other, and under concurrent load from both the audit log stays one
//! gapless, verifiable Merkle sequence (one sequencer: an advisory lock).

use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::helpers::{ServeProcess, hippo_on, login_at, postgres_database};
use hippo_store::{KeySource, Store, StoreOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgresql_database_share_sessions_and_one_audit_log() {
    let database = postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    hippo_on(&["keys", "init"], dir.path(), Some(&database));
    let store = Store::open(&StoreOptions {
        database_url: Some(hippo_store::DatabaseUrl::new(database.clone())),
        data_dir: dir.path().to_path_buf(),
        build: "test-build".into(),
        blob_url: None,
        blob_options: Default::default(),
        keys: Some(KeySource::File(dir.path().join("keys/master.keyring"))),
    })
    .await
    .unwrap();
    let world = hippo_cli::demo::seed(&store).await.unwrap();
    store.close().await;
    let args = ["--database-url", database.as_str()];
    let a = ServeProcess::start(dir.path(), &args);
    let b = ServeProcess::start(dir.path(), &args);
    let client = Client::new();

    // A session made on A works on B, and logging out on B ends it on A.
    let max = world
        .users
        .iter()
        .find(|u| u.email.starts_with("max.schmidt"))
        .unwrap()
        .clone();
    let token = login_at(&client, &a.url, &max).await;
    let finding = max.finding_ids[0];
    let on_b = client
        .get(format!("{}/api/v1/findings/{finding}", b.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(on_b.status(), StatusCode::OK);

    // Concurrent reads and writes through both servers.
    let keller = world
        .users
        .iter()
        .find(|u| u.email.starts_with("a.keller"))
        .unwrap()
        .clone();
    let staff = login_at(&client, &b.url, &keller).await;
    let mut tasks = Vec::new();
    for worker in 0..8usize {
        let url = if worker % 2 == 0 {
            a.url.clone()
        } else {
            b.url.clone()
        };
        let (client, token, staff) = (client.clone(), token.clone(), staff.clone());
        let findings = max.finding_ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut ok = 0;
            for round in 0..25usize {
                let finding = findings[round % findings.len()];
                let read = client
                    .get(format!("{url}/api/v1/findings/{finding}/pdf"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(read.status(), StatusCode::OK);
                if round % 5 == 0 {
                    let created = client
                        .post(format!("{url}/api/v1/patients"))
                        .bearer_auth(&staff)
                        .json(&json!({"given_name": format!("Multi{worker}"), "family_name": format!("Instance{round}"), "birth_date": "1975-05-06"}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(created.status(), StatusCode::CREATED);
                }
                ok += 1;
            }
            ok
        }));
    }
    let mut requests = 0;
    for task in tasks {
        requests += task.await.unwrap();
    }
    assert_eq!(requests, 200);

    let logout = client
        .post(format!("{}/api/v1/auth/logout", b.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(logout.status().is_success());
    let after = client
        .get(format!("{}/api/v1/findings/{finding}", a.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    drop((a, b));

    // One log: every position once, every head from either server
    // consistent with the records.
    let verified = hippo_on(&["audit", "verify"], dir.path(), Some(&database));
    assert!(verified.contains("intact"), "{verified}");
    let pool = crate::helpers::test_pool(&database).await;
    let (records, distinct, max_seq): (i64, i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT seq), MAX(seq) FROM audit_records")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(records > 200, "{records}");
    assert_eq!((distinct, max_seq), (records, records));
}
