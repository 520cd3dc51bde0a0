//! Envelope encryption at rest (DESIGN invariant 7; issue 5): PDFs are
//! sealed with their tenant's data key and bound to their object, no client
//! input turns that off, master keys rotate without downtime, deleting a
//! tenant shreds its key, and a failed upload leaves nothing behind.

use reqwest::StatusCode;

use crate::helpers::{PDF, contains, files_under, finding_metadata, spawn_app, upload_form};
use hippo_store::{KeySource, Store, StoreOptions};

/// A footer line of every demo PDF that appears nowhere else.
const DEMO_MARKER: &[u8] = b"Keine echten Patientendaten";

fn blob_dir(app: &crate::helpers::TestApp) -> std::path::PathBuf {
    app.dir.join("blobs")
}

/// Everything the database holds, as bytes: the SQLite file and its
/// write-ahead log, or a `pg_dump` of the PostgreSQL database.
fn database_bytes(app: &crate::helpers::TestApp) -> Vec<u8> {
    if let Some(url) = &app.database_url {
        // As an operator backs it up: row-level security on, every tenant.
        let dump = std::process::Command::new("pg_dump")
            .env("PGOPTIONS", "-c hippo.tenant=*")
            .args(["--data-only", "--enable-row-security", url])
            .output()
            .unwrap();
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        return dump.stdout;
    }
    let mut bytes = std::fs::read(app.dir.join("hippo.db")).unwrap();
    if let Ok(wal) = std::fs::read(app.dir.join("hippo.db-wal")) {
        bytes.extend(wal);
    }
    bytes
}

/// Whether the database holds `needle`, as raw bytes or (PostgreSQL
/// dumps bytea as hex) in hex.
fn database_holds(app: &crate::helpers::TestApp, needle: &[u8]) -> bool {
    let bytes = database_bytes(app);
    contains(&bytes, needle) || contains(&bytes, hex::encode(needle).as_bytes())
}

async fn open_other_instance(app: &crate::helpers::TestApp, keys: KeySource) -> Store {
    Store::open(&StoreOptions {
        database_url: app.database_url.clone().map(hippo_store::DatabaseUrl::new),
        data_dir: app.dir.clone(),
        build: "test-build".into(),
        blob_url: None,
        blob_options: Default::default(),
        keys: Some(keys),
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn no_plaintext_reaches_the_disk_and_no_client_can_ask_for_it() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let keller = app.login("a.keller").await;

    // The marker is in the PDFs as served, so finding it on disk would
    // mean plaintext there.
    let finding = max.user.finding_ids[0];
    let served = app
        .get(&format!("/api/v1/findings/{finding}/pdf"), &max)
        .await;
    assert_eq!(served.status(), StatusCode::OK);
    assert!(contains(&served.bytes().await.unwrap(), DEMO_MARKER));

    // Attempts to switch encryption off: query, headers, a form part.
    let patient = keller.user.patient_ids[0];
    let secret = hippo_core::file_kind::minimal_pdf("UPLOAD-MARKER-7f3a9c unencrypted please");
    let response = app
        .client
        .post(format!(
            "{}/api/v1/patients/{patient}/findings?encrypt=false&encryption=none",
            app.url
        ))
        .bearer_auth(&keller.token)
        .header("X-Hippo-Encryption", "none")
        .header("X-Skip-Encryption", "true")
        .multipart(upload_form(&finding_metadata(), &secret))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let with_part = upload_form(&finding_metadata(), &secret).text("encryption", "none");
    let refused = app.upload(&patient.to_string(), &keller, with_part).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);

    let database = database_bytes(&app);
    assert!(
        !contains(&database, DEMO_MARKER),
        "demo PDF text in the database"
    );
    assert!(!contains(&database, b"UPLOAD-MARKER-7f3a9c"));
    let blobs = files_under(&blob_dir(&app));
    assert!(
        blobs.len() >= 17,
        "one blob per finding, got {}",
        blobs.len()
    );
    for blob in &blobs {
        let bytes = std::fs::read(blob).unwrap();
        assert!(
            bytes.starts_with(b"HPB1"),
            "{} is not sealed",
            blob.display()
        );
        assert!(!contains(&bytes, DEMO_MARKER), "{}", blob.display());
        assert!(!contains(&bytes, b"UPLOAD-MARKER-7f3a9c"));
        assert!(!contains(&bytes, b"%PDF"), "{}", blob.display());
        // Blob names carry IDs only.
        let name = blob
            .strip_prefix(blob_dir(&app))
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert!(
            name.split('/').all(|part| part == "tenants"
                || part == "finding_pdf"
                || part == "message_attachment"
                || uuid::Uuid::parse_str(part).is_ok()),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_object_or_tenant_does_not_open() {
    let app = spawn_app().await;
    let erika = app.login("erika").await;
    let findings: Vec<_> = erika.user.finding_ids.clone();
    let mut paths = Vec::new();
    for finding in &findings {
        let tenant: String = sqlx::query_scalar("SELECT tenant_id FROM findings WHERE id = $1")
            .bind(finding.to_string())
            .fetch_one(&app.db)
            .await
            .unwrap();
        paths.push((
            *finding,
            tenant.clone(),
            blob_dir(&app).join(format!("tenants/{tenant}/finding_pdf/{finding}")),
        ));
    }
    let (first, first_tenant, first_path) = &paths[0];
    let same_tenant = paths
        .iter()
        .find(|(f, t, _)| t == first_tenant && f != first)
        .expect("two findings in one tenant");
    let other_tenant = paths
        .iter()
        .find(|(_, t, _)| t != first_tenant)
        .expect("a finding in the other tenant");
    let original = std::fs::read(first_path).unwrap();
    for (_, _, donor) in [same_tenant, other_tenant] {
        std::fs::copy(donor, first_path).unwrap();
        let response = app
            .get(&format!("/api/v1/findings/{first}/pdf"), &erika)
            .await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = response.bytes().await.unwrap();
        assert!(!contains(&body, b"%PDF"), "another object's PDF was served");
    }
    std::fs::write(first_path, original).unwrap();
    let response = app
        .get(&format!("/api/v1/findings/{first}/pdf"), &erika)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn master_keys_rotate_while_running_instances_keep_serving() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let finding = max.user.finding_ids[0];
    let before = app
        .get(&format!("/api/v1/findings/{finding}/pdf"), &max)
        .await
        .bytes()
        .await
        .unwrap();
    let keyring_file = app.dir.join("keys/master.keyring");
    let old_keyring = std::fs::read_to_string(&keyring_file).unwrap();
    // A second instance that read the keyring before the rotation.
    let other = open_other_instance(&app, KeySource::File(keyring_file.clone())).await;
    let old_id = other.unscoped_vault().check_keyring().unwrap();

    let out = app.hippo(&["keys", "rotate"]);
    assert!(out.contains("re-wrapped 2 data keys"), "{out}");
    let rotated =
        hippo_crypto::Keyring::parse(&std::fs::read_to_string(&keyring_file).unwrap()).unwrap();
    assert_eq!(rotated.ids().len(), 2);
    assert_ne!(rotated.current().id(), old_id);
    let under_old: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM tenant_keys WHERE master_key_id = $1")
            .bind(old_id.to_hex())
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(under_old, 0);

    // Both instances keep serving: the running server, and the other one,
    // which meets a data key wrapped under a master key it has not seen
    // and reads the keyring file again.
    let served = app
        .get(&format!("/api/v1/findings/{finding}/pdf"), &max)
        .await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.bytes().await.unwrap(), before);
    let tenant = max.user.patient_ids[0];
    let tenant_id: String = sqlx::query_scalar("SELECT tenant_id FROM patients WHERE id = $1")
        .bind(tenant.to_string())
        .fetch_one(&app.db)
        .await
        .unwrap();
    let opened = other
        .unscoped_vault()
        .get_and_open(
            tenant_id.parse().unwrap(),
            "finding_pdf",
            &finding.to_string(),
        )
        .await
        .unwrap();
    assert_eq!(opened, before);

    // Retire the old key: the old keyring alone can no longer open anything.
    let out = app.hippo(&["keys", "rotate", "--retire"]);
    assert!(out.contains("retired 1 old master keys"), "{out}");
    let old_only = hippo_crypto::Keyring::parse(&old_keyring).unwrap();
    let stale = open_other_instance(&app, KeySource::Fixed(std::sync::Arc::new(old_only))).await;
    assert!(
        stale
            .unscoped_vault()
            .get_and_open(
                tenant_id.parse().unwrap(),
                "finding_pdf",
                &finding.to_string()
            )
            .await
            .is_err()
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_records WHERE action = 'key_rotate'")
            .await,
        2
    );
    let verified = app.hippo(&["audit", "verify"]);
    assert!(verified.contains("intact"), "{verified}");
}

#[tokio::test]
async fn deleting_a_tenant_shreds_its_key_so_its_blobs_never_open_again() {
    let app = spawn_app().await;
    let hafen = app
        .world
        .tenants
        .iter()
        .find(|t| t.name == "Testzentrum Hafen")
        .unwrap()
        .clone();
    let wrapped: Vec<u8> =
        sqlx::query_scalar("SELECT wrapped FROM tenant_keys WHERE tenant_id = $1")
            .bind(hafen.id.to_string())
            .fetch_one(&app.db)
            .await
            .unwrap();
    let hafen_findings: Vec<String> =
        sqlx::query_scalar("SELECT id FROM findings WHERE tenant_id = $1")
            .bind(hafen.id.to_string())
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(!hafen_findings.is_empty());

    let id = hafen.id.to_string();
    let out = app.hippo(&["tenant", "delete", &id, "--confirm", &id]);
    assert!(out.contains("data key destroyed"), "{out}");

    // The sealed blobs are still there, and open for nobody.
    for finding in &hafen_findings {
        let path = blob_dir(&app).join(format!("tenants/{id}/finding_pdf/{finding}"));
        assert!(path.exists());
        for store in [
            app.store.clone(),
            open_other_instance(&app, KeySource::File(app.dir.join("keys/master.keyring"))).await,
        ] {
            assert!(
                store
                    .unscoped_vault()
                    .get_and_open(hafen.id, "finding_pdf", finding)
                    .await
                    .is_err()
            );
        }
    }
    // The wrapped key is gone from the database file and its log.
    assert!(wrapped.len() > 32);
    assert!(!database_holds(&app, &wrapped));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM findings WHERE tenant_id = '{id}'"
        ))
        .await,
        0
    );
    // Its staff can no longer sign in; the other tenant is untouched.
    let petersen = app.user("j.petersen");
    assert_eq!(
        app.login_raw(&petersen.email, &petersen.password)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let max = app.login("max.schmidt").await;
    let served = app
        .get(
            &format!("/api/v1/findings/{}/pdf", max.user.finding_ids[0]),
            &max,
        )
        .await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'tenant_delete' AND tenant_id = '{id}'"
        ))
        .await,
        1
    );
    assert!(app.hippo(&["audit", "verify"]).contains("intact"));
    // Operators see the tenant as deleted, with no staff or patients left.
    let operator = app.login("oncall@").await;
    let tenants: serde_json::Value = app.get_json("/api/v1/tenants", &operator).await;
    let listed = tenants
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert!(listed["deleted_at"].is_string(), "{listed}");
    assert_eq!(listed["patient_count"], 0);
    assert_eq!(listed["staff_count"], 0);
    let page = app
        .web_get("/tenants", &operator)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data key destroyed"));
    // Deleting again is refused.
    let again = app
        .command()
        .args(["tenant", "delete", &id, "--confirm", &id, "--data-dir"])
        .arg(&app.dir)
        .output()
        .unwrap();
    assert!(!again.status.success());
}

#[tokio::test]
async fn a_failed_upload_leaves_no_blob_and_the_sweeper_reports_orphans() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    let blobs_before = files_under(&blob_dir(&app));
    app.break_audit_log().await;
    let response = app
        .upload(
            &keller.user.patient_ids[0].to_string(),
            &keller,
            upload_form(&finding_metadata(), PDF),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    app.repair_audit_log().await;
    assert_eq!(
        files_under(&blob_dir(&app)),
        blobs_before,
        "the sealed PDF was removed again"
    );
    let out = app.hippo(&["blobs", "sweep", "--grace-minutes", "0"]);
    assert!(out.contains("0 orphans"), "{out}");
    assert!(out.contains("0 missing"), "{out}");

    // A crash between blob and row leaves an orphan: the sweeper names it.
    let stray = blob_dir(&app).join(format!(
        "tenants/{}/finding_pdf/{}",
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    std::fs::write(&stray, b"HPB1 sealed bytes").unwrap();
    let filetime = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&stray)
        .unwrap()
        .set_modified(filetime)
        .unwrap();
    let out = app.hippo(&["blobs", "sweep"]);
    assert!(out.contains("1 orphans"), "{out}");
    let out = app.hippo(&["blobs", "sweep", "--delete"]);
    assert!(out.contains("deleted 1 orphans"), "{out}");
    assert!(!stray.exists());
    assert_eq!(files_under(&blob_dir(&app)), blobs_before);
}
