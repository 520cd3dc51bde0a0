//! Blobs in S3-compatible storage (issue 5): the same sealed blobs, through
//! `object_store`'s S3 client, against `moto_server` on loopback (PyPI
//! `moto[server]`). Outside CI the test is skipped, loudly, when moto is not
//! installed; with `CI=true` a missing moto fails it.

use reqwest::StatusCode;

use crate::helpers::{Moto, PDF, contains, finding_metadata, free_port, test_app, upload_form};

#[tokio::test]
async fn sealed_blobs_round_trip_through_s3_compatible_storage() {
    let port = free_port();
    let moto = Moto::start(port);
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    moto.create_bucket("hippo-blobs").await;
    let options = moto.options();
    let app = test_app()
        .blob_store("s3://hippo-blobs", options.clone())
        .spawn()
        .await;

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
    let bucket = hippo_store::blobs::BlobStore::open(
        Some("s3://hippo-blobs"),
        &hippo_store::BlobOptions::new(options),
        &app.dir,
    )
    .unwrap();
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
    let report = app.store.unscoped_vault().sweep(0).await.unwrap();
    assert!(
        report.orphans.is_empty() && report.missing.is_empty(),
        "{report:?}"
    );
    drop(moto);
}
