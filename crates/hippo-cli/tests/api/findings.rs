//! The walking skeleton end to end: staff create, upload, release, retract;
//! patients read values and PDFs; the demo credentials tell the truth.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PDF, finding_metadata, spawn_app, upload_form};

fn ids(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn finding_life_cycle_from_upload_to_patient_and_back() {
    let app = spawn_app().await;
    let clinician = app.login("a.keller").await;
    let max = app.login("max.schmidt").await;
    let max_record = max.user.patient_ids[0].to_string();

    let response = app
        .upload(
            &max_record,
            &clinician,
            upload_form(&finding_metadata(), PDF),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["status"], "draft");
    assert_eq!(created["abnormal_count"], 1);
    let id = created["id"].as_str().unwrap().to_owned();

    // A draft is invisible to the patient, exactly like a missing finding.
    let draft = app.get(&format!("/api/v1/findings/{id}"), &max).await;
    assert_eq!(draft.status(), StatusCode::NOT_FOUND);
    let list: Value = app.get_json("/api/v1/findings", &max).await;
    assert!(!ids(&list).contains(&id));

    let released = app
        .post_empty(&format!("/api/v1/findings/{id}/release"), &clinician)
        .await;
    assert_eq!(released.status(), StatusCode::OK);
    assert_eq!(
        released.json::<Value>().await.unwrap()["status"],
        "released"
    );

    let list: Value = app.get_json("/api/v1/findings", &max).await;
    assert!(ids(&list).contains(&id));
    let detail: Value = app.get_json(&format!("/api/v1/findings/{id}"), &max).await;
    assert_eq!(detail["title"], "Kleines Blutbild");
    assert_eq!(detail["facility"]["name"], "Labor Nord");
    let hb = &detail["observations"][0];
    assert_eq!(hb["code"], "718-7");
    assert_eq!(hb["value"], 18.9);
    assert_eq!(hb["flag"], "H");
    assert_eq!(hb["abnormal"], true);
    assert_eq!(hb["reference_high"], 17.5);
    assert_eq!(detail["observations"][1]["value"], "nicht nachweisbar");
    assert_eq!(detail["observations"][1]["flag"], "N");

    let pdf = app.get(&format!("/api/v1/findings/{id}/pdf"), &max).await;
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(
        pdf.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(pdf.headers()["cache-control"], "no-store");
    assert_eq!(pdf.bytes().await.unwrap().as_ref(), PDF);

    let retracted = app
        .post_empty(&format!("/api/v1/findings/{id}/retract"), &clinician)
        .await;
    assert_eq!(retracted.status(), StatusCode::OK);
    assert_eq!(
        app.get(&format!("/api/v1/findings/{id}"), &max)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/v1/findings/{id}/pdf"), &max)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // Staff still see it, with its state.
    let staff_view: Value = app
        .get_json(
            &format!("/api/v1/patients/{max_record}/findings"),
            &clinician,
        )
        .await;
    let row = staff_view["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id.as_str())
        .unwrap();
    assert_eq!(row["status"], "retracted");
}

#[tokio::test]
async fn staff_create_and_read_patients_of_their_facility() {
    let app = spawn_app().await;
    let clinician = app.login("a.keller").await;
    let response = app
        .post_json(
            "/api/v1/patients",
            &clinician,
            &json!({"given_name": "Clara", "family_name": "Neumann", "birth_date": "1990-04-01"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let patient: Value = response.json().await.unwrap();
    let id = patient["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);

    let fetched: Value = app
        .get_json(&format!("/api/v1/patients/{id}"), &clinician)
        .await;
    assert_eq!(fetched, patient);
    let list: Value = app.get_json("/api/v1/patients", &clinician).await;
    assert!(ids(&list).contains(id));
    assert_eq!(list.as_array().unwrap().len(), 5);

    // The other facility does not see the new patient.
    let other = app.login("j.petersen").await;
    let list: Value = app.get_json("/api/v1/patients", &other).await;
    assert!(!ids(&list).contains(id));
}

#[tokio::test]
async fn demo_credentials_list_exactly_what_each_user_may_read() {
    let app = spawn_app().await;
    for user in app.world.users.clone() {
        let session = app.login(&user.email).await;
        let expected_findings: BTreeSet<String> =
            user.finding_ids.iter().map(|f| f.to_string()).collect();
        let expected_patients: BTreeSet<String> =
            user.patient_ids.iter().map(|p| p.to_string()).collect();
        if user.role == "operator" {
            assert!(expected_findings.is_empty() && expected_patients.is_empty());
            let tenants: Value = app.get_json("/api/v1/tenants", &session).await;
            assert_eq!(tenants.as_array().unwrap().len(), app.world.tenants.len());
            let r = app.get("/api/v1/patients", &session).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
        } else if user.role == "patient" {
            let list: Value = app.get_json("/api/v1/findings", &session).await;
            assert_eq!(ids(&list), expected_findings, "{}", user.email);
            let patient_ids: BTreeSet<String> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["patient_id"].as_str().unwrap().to_owned())
                .collect();
            assert!(patient_ids.is_subset(&expected_patients));
            assert!(list.as_array().unwrap().len() >= 2 * user.patient_ids.len());
        } else {
            let list: Value = app.get_json("/api/v1/patients", &session).await;
            assert_eq!(ids(&list), expected_patients, "{}", user.email);
            let mut seen = BTreeSet::new();
            for patient in &user.patient_ids {
                let view: Value = app
                    .get_json(&format!("/api/v1/patients/{patient}/findings"), &session)
                    .await;
                seen.extend(ids(&view["findings"]));
            }
            assert_eq!(seen, expected_findings, "{}", user.email);
        }
        for finding in &user.finding_ids {
            let r = app
                .get(&format!("/api/v1/findings/{finding}"), &session)
                .await;
            assert_eq!(
                r.status(),
                StatusCode::OK,
                "{} reading {finding}",
                user.email
            );
        }
    }
    // The person with records at both facilities sees findings of both.
    let erika = app.user("erika");
    assert_eq!(erika.patient_ids.len(), 2);
    let session = app.login("erika").await;
    let list: Value = app.get_json("/api/v1/findings", &session).await;
    let facilities: BTreeSet<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["facility"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(facilities.len(), 2);
}
