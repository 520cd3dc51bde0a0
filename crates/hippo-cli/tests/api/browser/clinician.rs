//! A clinician logs in, uploads a finding through the form, releases it,
//! and the patient sees it; until the release it stays invisible to them.
//!
//! The values go in through the form's rows (analyte, LOINC code, value
//! with a German decimal comma, unit, reference range); "add rows" shows
//! the form again with more rows and the typed values kept.

use super::{Browser, BrowserLanguage};
use crate::helpers::spawn_app;

/// The values the clinician enters: analyte, code, value, unit, range.
const VALUES: [(&str, &str, &str, &str, &str, &str); 2] = [
    ("Hämoglobin", "718-7", "13,9", "g/dl", "12", "17,5"),
    ("Glukose", "2345-7", "142", "mg/dl", "70", "99"),
];

/// Type each value into its row of the upload form.
async fn fill_values(browser: &Browser, form: &str) {
    for (row, (analyte, code, value, unit, low, high)) in VALUES.iter().enumerate() {
        for (field, text) in [
            ("analyte", analyte),
            ("code", code),
            ("value", value),
            ("unit", unit),
            ("low", low),
            ("high", high),
        ] {
            browser
                .type_into(&format!("{form} input[name=row-{row}-{field}]"), text)
                .await;
        }
    }
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
    fill_values(&browser, &form).await;
    // More rows, without JavaScript: the form comes back with 16 rows and
    // what was typed (the title, the values) still in it.
    browser
        .click(&format!("{form} button[name=more_rows]"))
        .await;
    browser
        .wait_for(&format!("{form} input[name=row-15-value]"))
        .await;
    let kept = browser
        .wait_for(&format!("{form} input[name=row-0-value]"))
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("13,9"));
    let kept_title = browser
        .wait_for(&format!("{form} input[name=title]"))
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept_title.as_deref(), Some(title.as_str()));
    browser.check_page("upload-more-rows").await;
    browser
        .wait_for(&format!("{form} input[type=file][name=pdf]"))
        .await
        .send_keys(&pdf.display().to_string())
        .await
        .unwrap();
    browser
        .click(&format!("{form} button[type=submit]:not([name=more_rows])"))
        .await;
    let finding_path = browser
        .wait_for_path("the uploaded draft", |p| p.starts_with("/findings/"))
        .await;
    browser.wait_for_text(&title, false).await;
    for (display, ..) in VALUES {
        browser.wait_for_text(display, false).await;
    }
    // The German decimal comma arrived as the number it means.
    browser.wait_for_text("13,9", false).await;
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
    for (display, ..) in VALUES {
        assert!(page.contains(display), "{display}:\n{page}");
    }
}
