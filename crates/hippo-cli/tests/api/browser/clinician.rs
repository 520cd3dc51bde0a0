//! A clinician logs in, uploads a finding through the form, releases it,
//! and the patient sees it; until the release it stays invisible to them.
//!
//! Written against the login and upload form on main today. The TOTP step
//! (issue 12 point 1) goes into `Browser::log_in`, and the values form
//! (point 4: rows of analyte, value, unit, reference range instead of the
//! JSON list) replaces `fill_values` below; both are marked.

use super::{Browser, BrowserLanguage};
use crate::helpers::spawn_app;

/// The values the clinician enters.
const VALUES: [(&str, &str, &str); 2] = [
    ("718-7", "Hämoglobin", "13.9"),
    ("2345-7", "Glukose", "142"),
];

/// Enter the values into the upload form. Today: the JSON list in the
/// `observations` text area. When the values form lands, type each row
/// (analyte, value, unit, reference range) into its inputs here instead.
async fn fill_values(browser: &Browser) {
    let rows: Vec<serde_json::Value> = VALUES
        .iter()
        .map(|(code, display, value)| {
            serde_json::json!({"code": code, "display": display,
                "value": value.parse::<f64>().unwrap(), "unit": "g/dl",
                "reference_low": 12.0, "reference_high": 17.5})
        })
        .collect();
    browser
        .set_value(
            "textarea[name=observations]",
            &serde_json::Value::Array(rows).to_string(),
        )
        .await;
}

#[tokio::test]
async fn browser_clinician_uploads_and_releases_and_the_patient_sees_it() {
    let app = spawn_app().await;
    let keller = app.user("a.keller");
    let max = app.user("max.schmidt");
    let record = max.patient_ids[0];
    let title = format!(
        "Blutbild Browser-Test {}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let pdf = super::page::pdf_file(&app);

    let browser = Browser::start(&app.url, BrowserLanguage::German, "clinician").await;
    // The TOTP step for staff goes here (inside log_in) once it is on main.
    browser.log_in(&keller).await;
    browser
        .wait_for_path("the patient list", |p| p == "/patients")
        .await;
    browser.check_page("patients").await;
    browser
        .click(&format!("main a[href='/patients/{record}']"))
        .await;
    browser
        .wait_for_path("the patient", |p| p == format!("/patients/{record}"))
        .await;
    browser.check_page("patient").await;

    let form = format!("form[action='/patients/{record}/findings']");
    browser
        .type_into(&format!("{form} input[name=title]"), &title)
        .await;
    fill_values(&browser).await;
    browser
        .wait_for(&format!("{form} input[type=file][name=pdf]"))
        .await
        .send_keys(&pdf.display().to_string())
        .await
        .unwrap();
    browser.click(&format!("{form} button[type=submit]")).await;
    let finding_path = browser
        .wait_for_path("the uploaded draft", |p| p.starts_with("/findings/"))
        .await;
    browser.wait_for_text(&title, false).await;
    for (_, display, _) in VALUES {
        browser.wait_for_text(display, false).await;
    }
    browser.check_page("draft").await;

    // A draft is invisible to the patient.
    let api = app.login("max.schmidt").await;
    let listed = app.get_json("/api/v1/findings", &api).await.to_string();
    assert!(!listed.contains(&title), "a draft reached the patient");

    browser
        .click(&format!(
            "form[action='{finding_path}/release'] button[type=submit]"
        ))
        .await;
    browser
        .wait_for_path("the finding", |p| p == finding_path)
        .await;
    let deadline = tokio::time::Instant::now() + super::page::STEP_TIMEOUT;
    while !browser
        .all(&format!("form[action='{finding_path}/release']"))
        .await
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still releasable after the release"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.log_out().await;

    // The patient sees it in the list and opens it.
    browser.log_in(&max).await;
    browser.open("/findings").await;
    browser.wait_for_text(&title, false).await;
    browser
        .click(&format!("main a[href='{finding_path}']"))
        .await;
    let page = browser.wait_for_text(&title, false).await;
    for (_, display, _) in VALUES {
        assert!(page.contains(display), "{display}:\n{page}");
    }
}
