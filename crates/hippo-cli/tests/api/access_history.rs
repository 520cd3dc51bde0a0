//! Patients see every access to their data, with staff names where the
//! facility allows, and can prove any entry is in the signed log.

use std::time::Duration;

use hippo_audit::merkle::verify_inclusion;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::spawn_app;

fn h(s: &Value) -> [u8; 32] {
    hex::decode(s.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

#[tokio::test]
async fn patients_see_who_accessed_their_data_and_can_prove_it() {
    let app = spawn_app().await;
    let erika = app.login("erika").await;
    let keller = app.login("a.keller").await; // Labor Nord shows names
    let petersen = app.login("j.petersen").await; // Testzentrum shows roles
    let sophie = app.login("sophie.wagner").await;
    let erika_lab_finding = erika.user.finding_ids[0];
    let lab_reads = app
        .get(&format!("/api/v1/findings/{erika_lab_finding}"), &keller)
        .await;
    let centre_reads = app
        .get(&format!("/api/v1/findings/{erika_lab_finding}"), &petersen)
        .await;
    assert_eq!(lab_reads.status(), StatusCode::OK, "finding of Labor Nord");
    assert_eq!(centre_reads.status(), StatusCode::NOT_FOUND);
    for f in &erika.user.finding_ids {
        app.get(&format!("/api/v1/findings/{f}/pdf"), &petersen)
            .await;
    }
    app.get(
        &format!("/api/v1/findings/{}", sophie.user.finding_ids[0]),
        &sophie,
    )
    .await;

    let history: Value = app.get_json("/api/v1/access-log", &erika).await;
    let entries = history.as_array().unwrap();
    let read_by_keller = entries
        .iter()
        .find(|e| {
            e["action"] == "finding_read"
                && e["resource_id"] == erika_lab_finding.to_string().as_str()
                && e["actor"] == "clinician"
        })
        .expect("Dr. Keller's read is listed");
    assert_eq!(read_by_keller["staff_name"], "Dr. Anna Keller");
    assert_eq!(read_by_keller["facility"], "Labor Nord");
    let centre_downloads: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "finding_pdf_download" && e["facility"] == "Testzentrum Hafen")
        .collect();
    assert!(!centre_downloads.is_empty());
    assert!(
        centre_downloads.iter().all(|e| e["staff_name"].is_null()),
        "the test centre shows roles only"
    );
    // Seeding by the clinicians is there too; Sophie's own read is not.
    assert!(entries.iter().any(|e| e["action"] == "finding_upload"));
    let text = history.to_string();
    assert!(!text.contains(&sophie.user.finding_ids[0].to_string()));
    assert!(!text.contains(&sophie.actor_id));

    // Prove Dr. Keller's read is in the signed log.
    let record = read_by_keller["id"].as_str().unwrap();
    let mut proof = app
        .get(&format!("/api/v1/access-log/{record}/proof"), &erika)
        .await;
    for _ in 0..100 {
        if proof.status() != StatusCode::CONFLICT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        proof = app
            .get(&format!("/api/v1/access-log/{record}/proof"), &erika)
            .await;
    }
    assert_eq!(proof.status(), StatusCode::OK);
    let proof: Value = proof.json().await.unwrap();
    let path: Vec<[u8; 32]> = proof["audit_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(h)
        .collect();
    let root = h(&proof["root_hash"]);
    assert!(verify_inclusion(
        proof["leaf_index"].as_u64().unwrap(),
        proof["tree_size"].as_u64().unwrap(),
        &h(&proof["leaf_hash"]),
        &path,
        &root
    ));
    let key = hippo_audit::AuditSigningKey::from_hex(
        &std::fs::read_to_string(app.dir.join("keys/audit-signing.key")).unwrap(),
    )
    .unwrap();
    let head = app.store.audit_log().latest_head().await.unwrap().unwrap();
    assert!(head.head.size >= proof["tree_size"].as_u64().unwrap());
    assert!(head.verify(&key.verifying_key()));

    // Someone else's record: not found, like a random ID.
    let sophies: String =
        sqlx::query_scalar("SELECT id FROM audit_records WHERE patient_id = $1 LIMIT 1")
            .bind(sophie.user.patient_ids[0].to_string())
            .fetch_one(&app.db)
            .await
            .unwrap();
    let foreign = app
        .get(&format!("/api/v1/access-log/{sophies}/proof"), &erika)
        .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);

    // The page shows the same, in words.
    let html = app
        .web_get("/access-log", &erika)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Dr. Anna Keller (clinician)"));
    assert!(html.contains("downloaded a report PDF"));
    assert!(html.contains(&format!("/access-log/{record}/proof")));
}
