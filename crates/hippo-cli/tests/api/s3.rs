//! Blobs in S3-compatible storage (issue 5): the same sealed blobs, through
//! `object_store`'s S3 client, against `moto_server` on loopback (PyPI
//! `moto[server]`). Outside CI the test is skipped, loudly, when moto is not
//! installed; with `CI=true` a missing moto fails it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{PDF, contains, finding_metadata, spawn_app_with_blob_store, upload_form};

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn sealed_blobs_round_trip_through_s3_compatible_storage() {
    let port = free_port();
    // `python3 -m moto.server` works wherever the package is installed,
    // with or without its script on PATH.
    let moto = match Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .and_then(|mut child| {
            std::thread::sleep(Duration::from_millis(300));
            match child.try_wait()? {
                // Exited at once: the module is not installed.
                Some(status) => Err(std::io::Error::other(format!(
                    "moto.server exited: {status}"
                ))),
                None => Ok(child),
            }
        }) {
        Ok(child) => Moto(child),
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("SKIPPED: moto_server not available ({e}); `pip install 'moto[server]'`");
            return;
        }
        Err(e) => panic!("CI=true but moto_server cannot start: {e}"),
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    // Wait for moto (up to a minute on a cold machine), then create the
    // bucket (path-style).
    let mut created = false;
    for _ in 0..600 {
        if let Ok(r) = client.put(format!("{endpoint}/hippo-blobs")).send().await {
            created = r.status().is_success();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(created, "could not create the bucket in moto");
    let options: Vec<(String, String)> = [
        ("aws_endpoint", endpoint.as_str()),
        ("aws_allow_http", "true"),
        ("aws_region", "us-east-1"),
        ("aws_access_key_id", "test"),
        ("aws_secret_access_key", "test"),
        ("aws_virtual_hosted_style_request", "false"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let app = spawn_app_with_blob_store("s3://hippo-blobs", options.clone()).await;

    // The demo's PDFs were sealed into the bucket; one reads back whole.
    let max = app.login("max.schmidt").await;
    let finding = max.user.finding_ids[0];
    let served = app
        .get(&format!("/api/v1/findings/{finding}/pdf"), &max)
        .await;
    assert_eq!(served.status(), StatusCode::OK);
    assert!(served.bytes().await.unwrap().starts_with(b"%PDF"));

    // An upload goes to the bucket, sealed, and comes back identical.
    let keller = app.login("a.keller").await;
    let uploaded = app
        .upload(
            &keller.user.patient_ids[0].to_string(),
            &keller,
            upload_form(&finding_metadata(), PDF),
        )
        .await;
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let id = uploaded.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let back = app
        .get(&format!("/api/v1/findings/{id}/pdf"), &keller)
        .await;
    assert_eq!(back.bytes().await.unwrap().as_ref(), PDF);

    // In the bucket: IDs as names, sealed bytes as content.
    let listing = client
        .get(format!("{endpoint}/hippo-blobs?list-type=2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let tenant: String = sqlx::query_scalar("SELECT tenant_id FROM findings WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let name = format!("tenants/{tenant}/finding_pdf/{id}");
    assert!(listing.contains(&name), "{listing}");
    assert!(listing.matches("<Key>").count() >= 18, "{listing}");
    // Objects are private: read the raw bytes with the store's credentials.
    let bucket =
        hippo_store::blobs::BlobStore::open(Some("s3://hippo-blobs"), &options, &app.dir).unwrap();
    let raw = bucket.get(&name).await.unwrap();
    assert!(
        raw.starts_with(b"HPB1"),
        "{}",
        String::from_utf8_lossy(&raw[..raw.len().min(300)])
    );
    assert!(!contains(&raw, b"%PDF"));
    assert!(
        !std::path::Path::new(&app.dir.join("blobs")).exists()
            || crate::helpers::files_under(&app.dir.join("blobs")).is_empty()
    );
    let report = app.store.vault().sweep(0).await.unwrap();
    assert!(
        report.orphans.is_empty() && report.missing.is_empty(),
        "{report:?}"
    );
    drop(moto);
}
