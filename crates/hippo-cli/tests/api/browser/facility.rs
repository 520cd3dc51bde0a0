//! The facility portal's pages of issue 12 in the browser, checked with
//! axe: the upload form shown again with its faults next to the fields,
//! and a tenant admin's access log of one patient record.

use super::{Browser, BrowserLanguage, catalog_text};
use crate::helpers::spawn_app;

#[tokio::test]
async fn browser_facility_upload_errors_and_the_access_log_are_accessible() {
    let app = spawn_app().await;
    let keller = app.user("a.keller");
    let admin = app.user("admin@labor-nord");
    let record = app.user("max.schmidt").patient_ids[0];
    let pdf = super::page::pdf_file(&app);

    let browser = Browser::start(&app.url, BrowserLanguage::German, "facility").await;
    browser.log_in(&keller).await;
    browser.open(&format!("/patients/{record}")).await;
    let form = format!("form[action='/patients/{record}/findings']");
    browser
        .type_into(&format!("{form} input[name=title]"), "Elektrolyte")
        .await;
    browser
        .type_into(&format!("{form} input[name=row-0-code]"), "2823-3")
        .await;
    browser
        .type_into(&format!("{form} input[name=row-0-value]"), "vier")
        .await;
    browser
        .wait_for(&format!("{form} input[type=file][name=pdf]"))
        .await
        .send_keys(&pdf.display().to_string())
        .await
        .unwrap();
    // Enter in a field submits with the upload button, not "add rows".
    browser
        .wait_for(&format!("{form} input[name=row-0-unit]"))
        .await
        .send_keys("\u{E007}")
        .await
        .unwrap();
    let message = catalog_text(BrowserLanguage::German, "facility-row-value-not-number");
    let page = browser.wait_for_text(&message, false).await;
    assert!(page.contains(&catalog_text(
        BrowserLanguage::German,
        "facility-upload-pdf-again"
    )));
    assert!(
        browser.all("input[name=row-8-value]").await.is_empty(),
        "the upload was submitted, not \"add rows\""
    );
    let described = browser
        .wait_for(&format!("{form} input[name=row-0-value]"))
        .await
        .attr("aria-describedby")
        .await
        .unwrap();
    assert_eq!(described.as_deref(), Some("row-0-value-error"));
    browser.check_page("upload-errors").await;
    browser.log_out().await;

    browser.log_in(&admin).await;
    browser.open(&format!("/patients/{record}")).await;
    browser
        .click(&format!("main a[href='/patients/{record}/access-log']"))
        .await;
    browser
        .wait_for_path("the access log", |p| p.ends_with("/access-log"))
        .await;
    browser.wait_for_text("Dr. Anna Keller", false).await;
    browser.check_page("patient-access-log").await;
}
