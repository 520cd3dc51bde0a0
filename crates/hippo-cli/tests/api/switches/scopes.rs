//! Each service off and on everywhere, one tenant's switch, and nothing
//! half-done while a service is off.

use reqwest::StatusCode;
use serde_json::Value;

use super::*;
use crate::helpers::files_under;

#[tokio::test]
async fn each_service_switched_off_everywhere_answers_503_while_the_others_serve() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    for off in PROBED {
        switch_ok(&app, &f.operator, off.as_str(), None, "off").await;
        for probed in PROBED {
            let response = probe(&app, &f, probed).await;
            let what = format!("{probed} while {off} is off");
            if stopped_by(probed, off) {
                assert_json_off(response, &what).await;
            } else {
                assert!(
                    response.status().is_success(),
                    "{what}: {}",
                    response.status()
                );
            }
            if let Some(page) = web_probe(&app, &f, probed).await {
                if stopped_by(probed, off) {
                    assert_page_off(page, &what).await;
                } else {
                    // A page, or the login's redirect to the start page.
                    let status = page.status();
                    assert!(
                        status == StatusCode::OK || status == StatusCode::SEE_OTHER,
                        "{what} (web): {status}"
                    );
                }
            }
        }
        // The console and the switches are never switched off.
        assert_eq!(
            app.get("/api/v1/switches", &f.operator).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            app.web_get("/switches", &f.operator).await.status(),
            StatusCode::OK
        );
        // Nor is the operators' login: it is how a switch is turned back on.
        let operator = &f.operator.user;
        // (202: the password is accepted, the second factor follows.)
        let login = app.login_raw(&operator.email, &operator.password).await;
        assert_eq!(
            login.status(),
            StatusCode::ACCEPTED,
            "operator login while {off} is off"
        );
        switch_ok(&app, &f.operator, off.as_str(), None, "on").await;
        for probed in PROBED {
            let response = probe(&app, &f, probed).await;
            assert!(
                response.status().is_success(),
                "{probed} after {off} is on again"
            );
        }
    }
    // Messaging and retrieval switch like the others (their routes come
    // with their own branches) and stop nothing that exists here.
    for service in ["messaging", "retrieval"] {
        switch_ok(&app, &f.operator, service, None, "off").await;
        for probed in PROBED {
            assert!(probe(&app, &f, probed).await.status().is_success());
        }
        switch_ok(&app, &f.operator, service, None, "on").await;
    }
    // Every change is in the audit log: who, why, service, scope, old/new.
    let changes = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'switch_change' \
             AND outcome = 'success' AND actor_id = '{}'",
            f.operator.actor_id
        ))
        .await;
    assert_eq!(changes, 2 * (PROBED.len() as i64 + 2));
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_records WHERE action = 'switch_change' \
         AND resource_id = 'findings.read@*' ORDER BY seq LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        detail,
        "service=findings.read scope=everywhere old=on new=off reason=test: findings.read off"
    );
}

#[tokio::test]
async fn a_tenant_switch_stops_that_tenant_and_patients_keep_their_other_facility() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let nord = tenant_of(&app, "Labor Nord");
    let petersen = app.login("j.petersen").await;
    let erika = app.login("erika.mustermann").await;
    let hafen_key = lab_key(&app, "admin@testzentrum").await;
    let mut nord_findings = Vec::new();
    let mut hafen_findings = Vec::new();
    for id in &erika.user.finding_ids {
        let id = id.to_string();
        if finding_tenant(&app, &id).await == nord.to_string() {
            nord_findings.push(id);
        } else {
            hafen_findings.push(id);
        }
    }
    assert!(!nord_findings.is_empty() && !hafen_findings.is_empty());
    let hafen_record = petersen.user.patient_ids[0].to_string();

    for service in [
        "findings.read",
        "findings.download",
        "findings.upload",
        "api",
        "login",
    ] {
        switch_ok(&app, &f.operator, service, Some(nord), "off").await;
    }
    // Staff and lab systems of Labor Nord: refused before any handler.
    let list = app
        .get(
            &format!("/api/v1/patients/{}/findings", f.patient_record),
            &f.clinician,
        )
        .await;
    assert_json_off(list, "Labor Nord staff list").await;
    assert_json_off(
        probe(&app, &f, Service::FindingsUpload).await,
        "Nord upload",
    )
    .await;
    assert_json_off(probe(&app, &f, Service::Api).await, "Nord lab key").await;
    assert_json_off(probe(&app, &f, Service::Login).await, "Nord staff login").await;
    // Testzentrum Hafen is not affected.
    let hafen_list = app
        .get(
            &format!("/api/v1/patients/{hafen_record}/findings"),
            &petersen,
        )
        .await;
    assert_eq!(hafen_list.status(), StatusCode::OK);
    let hafen_upload = app
        .client
        .post(format!(
            "{}/api/v1/patients/{hafen_record}/findings",
            app.url
        ))
        .bearer_auth(&hafen_key)
        .multipart(upload_form(&finding_metadata(), PDF))
        .send()
        .await
        .unwrap();
    assert_eq!(hafen_upload.status(), StatusCode::CREATED);
    let login = app
        .login_raw(&petersen.user.email, &petersen.user.password)
        .await;
    // Password accepted; his second factor follows.
    assert_eq!(login.status(), StatusCode::ACCEPTED);
    // Erika (patient at both) still logs in and sees Hafen's findings only.
    let login = app.login_raw(&erika.user.email, &erika.user.password).await;
    assert_eq!(login.status(), StatusCode::OK);
    // Max (Labor Nord only) cannot log in.
    let max = app
        .login_raw(&f.patient.user.email, &f.patient.user.password)
        .await;
    assert_json_off(max, "Max's login").await;
    let listed = app.get_json("/api/v1/findings", &erika).await;
    let listed: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    let mut expected = hafen_findings.clone();
    expected.sort();
    let mut got = listed.clone();
    got.sort();
    assert_eq!(got, expected);
    let before = app
        .count("SELECT COUNT(*) FROM audit_records WHERE action IN ('finding_read', 'finding_pdf_download') AND outcome = 'success'")
        .await;
    for id in &nord_findings {
        let read = app.get(&format!("/api/v1/findings/{id}"), &erika).await;
        assert_json_off(read, "Erika's Nord finding").await;
        let pdf = app.get(&format!("/api/v1/findings/{id}/pdf"), &erika).await;
        assert_json_off(pdf, "Erika's Nord PDF").await;
        let page = app.web_get(&format!("/findings/{id}"), &erika).await;
        assert_page_off(page, "Erika's Nord finding page").await;
    }
    // Nothing of the refused reads was recorded as served.
    let after = app
        .count("SELECT COUNT(*) FROM audit_records WHERE action IN ('finding_read', 'finding_pdf_download') AND outcome = 'success'")
        .await;
    assert_eq!(after, before);
    for id in &hafen_findings {
        let read = app.get(&format!("/api/v1/findings/{id}"), &erika).await;
        assert_eq!(read.status(), StatusCode::OK);
        let pdf = app.get(&format!("/api/v1/findings/{id}/pdf"), &erika).await;
        assert_eq!(pdf.status(), StatusCode::OK);
    }
    // The tenant switch is recorded with its tenant.
    let recorded = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'switch_change' \
             AND tenant_id = '{nord}' AND detail LIKE '%scope=tenant {nord} old=on new=off%'"
        ))
        .await;
    assert_eq!(recorded, 5);

    for service in [
        "findings.read",
        "findings.download",
        "findings.upload",
        "api",
        "login",
    ] {
        switch_ok(&app, &f.operator, service, Some(nord), "on").await;
    }
    for id in &nord_findings {
        let read = app.get(&format!("/api/v1/findings/{id}"), &erika).await;
        assert_eq!(read.status(), StatusCode::OK);
    }
    let all = app.get_json("/api/v1/findings", &erika).await;
    assert_eq!(all.as_array().unwrap().len(), erika.user.finding_ids.len());
    assert!(probe(&app, &f, Service::Api).await.status().is_success());
}

#[tokio::test]
async fn uploads_and_releases_while_switched_off_change_nothing() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let created = probe(&app, &f, Service::FindingsUpload).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let draft = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    switch_ok(&app, &f.operator, "findings.upload", None, "off").await;
    let findings = app.count("SELECT COUNT(*) FROM findings").await;
    let blobs = files_under(&app.dir.join("blobs")).len();
    for _ in 0..3 {
        assert_json_off(probe(&app, &f, Service::FindingsUpload).await, "upload").await;
        assert_json_off(probe(&app, &f, Service::Api).await, "lab upload").await;
    }
    let release = app
        .post_empty(&format!("/api/v1/findings/{draft}/release"), &f.clinician)
        .await;
    assert_json_off(release, "release").await;
    let web_release = app
        .web_post_form(
            &format!("/findings/{draft}/release"),
            &f.clinician,
            &[("csrf", &app.web_csrf(&f.clinician).await)],
        )
        .await;
    assert_page_off(web_release, "web release").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM findings").await, findings);
    assert_eq!(files_under(&app.dir.join("blobs")).len(), blobs);
    let status: String = sqlx::query_scalar("SELECT status FROM findings WHERE id = $1")
        .bind(&draft)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "draft");
    switch_ok(&app, &f.operator, "findings.upload", None, "on").await;
    let release = app
        .post_empty(&format!("/api/v1/findings/{draft}/release"), &f.clinician)
        .await;
    assert_eq!(release.status(), StatusCode::OK);
}
