//! Lab-system API keys: created and revoked by tenant admins, shown once,
//! stored hashed, and good only for submitting findings to their tenant.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{spawn_app, upload_with_key};

#[tokio::test]
async fn api_keys_submit_findings_for_their_own_tenant_only() {
    let app = spawn_app().await;
    let admin = app.login("admin@labor-nord").await;
    let created = app
        .post_json(
            "/api/v1/api-keys",
            &admin,
            &json!({"name": "Analyser hall 2"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let key_id = created["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("hippo_lab_"));

    // Shown once: never listed again, stored only as a hash.
    let listed = app
        .get("/api/v1/api-keys", &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(listed.contains(&key_id) && !listed.contains(&secret));
    let hash = hex::encode(Sha256::digest(secret.as_bytes()));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM api_keys WHERE key_hash = '{hash}'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM api_keys WHERE key_hash = '{secret}'"
        ))
        .await,
        0
    );

    let own_patient = app.user("max.schmidt").patient_ids[0].to_string();
    let r = upload_with_key(&app, &secret, &own_patient).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let finding: Value = r.json().await.unwrap();
    let finding_id = finding["id"].as_str().unwrap();
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM findings WHERE id = '{finding_id}' AND created_by = '{key_id}'"
        ))
        .await,
        1
    );
    assert!(app.count("SELECT COUNT(*) FROM audit_records WHERE actor_kind = 'lab_system' AND action = 'finding_upload' AND outcome = 'success'").await == 1);

    // Nothing else: no other tenant, no reading, no listing, no browser.
    let foreign_patient = app.user("leon.hoffmann").patient_ids[0].to_string();
    assert_eq!(
        upload_with_key(&app, &secret, &foreign_patient)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let read = app
        .client
        .get(format!("{}/api/v1/findings/{finding_id}", app.url))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::NOT_FOUND);
    let list = app
        .client
        .get(format!("{}/api/v1/patients", app.url))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), StatusCode::FORBIDDEN);
    let web = app
        .client
        .get(format!("{}/patients", app.url))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(web.status(), StatusCode::SEE_OTHER);

    // Only this tenant's admin may revoke it; afterwards it is dead.
    let other_admin = app.login("admin@testzentrum").await;
    let r = app
        .post_empty(&format!("/api/v1/api-keys/{key_id}/revoke"), &other_admin)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .post_empty(&format!("/api/v1/api-keys/{key_id}/revoke"), &admin)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.json::<Value>().await.unwrap()["revoked_at"].is_string());
    assert_eq!(
        upload_with_key(&app, &secret, &own_patient).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn only_tenant_admins_manage_keys_and_names_are_validated() {
    let app = spawn_app().await;
    let clinician = app.login("a.keller").await;
    let r = app
        .post_json("/api/v1/api-keys", &clinician, &json!({"name": "x"}))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v1/api-keys", &clinician).await.status(),
        StatusCode::FORBIDDEN
    );
    let admin = app.login("admin@labor-nord").await;
    for name in ["", "   ", &"x".repeat(101)] {
        let r = app
            .post_json("/api/v1/api-keys", &admin, &json!({"name": name}))
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM api_keys").await, 0);
    // A well-formed but unknown key is just unauthenticated.
    let fake = format!("hippo_lab_{}", "a".repeat(64));
    let patient = app.user("max.schmidt").patient_ids[0].to_string();
    assert_eq!(
        upload_with_key(&app, &fake, &patient).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
