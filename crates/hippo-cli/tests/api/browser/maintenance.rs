//! A switched-off service shows the maintenance page: the operator
//! switches findings reading off for one facility (API); the patient's
//! open finding turns into the maintenance notice with the operator's
//! message (never the internal reason), other services keep working, and
//! the finding is back once the switch is on again.

use serde_json::json;

use super::{Browser, BrowserLanguage, catalog_text};
use crate::helpers::spawn_app;

const USER_MESSAGE: &str = "Wartung bis 15 Uhr / maintenance until 3 pm";
const INTERNAL_REASON: &str = "incident 4711: owner check under review";

#[tokio::test]
async fn browser_switched_off_service_shows_the_maintenance_page() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    let finding = max.finding_ids[0].to_string();
    let lab = app.world.tenants[0].id.to_string();
    let operator = app.login("oncall@").await;
    let api = app.login("max.schmidt").await;
    let title = app
        .get_json(&format!("/api/v1/findings/{finding}"), &api)
        .await["title"]
        .as_str()
        .unwrap()
        .to_owned();

    let browser = Browser::start(&app.url, BrowserLanguage::English, "maintenance").await;
    browser.log_in(&max).await;
    let finding_path = format!("/findings/{finding}");
    browser.open(&finding_path).await;
    browser.wait_for_text(&title, false).await;

    let switched = app
        .post_json(
            "/api/v1/switches",
            &operator,
            &json!({"service": "findings.read", "state": "off", "tenant_id": lab,
                    "reason": INTERNAL_REASON, "message": USER_MESSAGE}),
        )
        .await;
    assert_eq!(switched.status(), reqwest::StatusCode::OK);
    // Effective within seconds: reload until the notice shows.
    let page = browser.wait_for_text(USER_MESSAGE, true).await;
    assert_eq!(
        browser.text_of("h1").await.trim(),
        catalog_text(BrowserLanguage::English, "maintenance-title")
    );
    assert!(!page.contains(INTERNAL_REASON), "the reason leaked: {page}");
    assert!(!page.contains(&title), "the finding is still shown: {page}");
    assert!(browser.all("main table").await.is_empty());
    browser.check_page("maintenance").await;

    // Messaging is another service: still on.
    browser.open("/messages").await;
    browser.wait_for("h1").await;
    assert!(!browser.main_text().await.contains(USER_MESSAGE));

    let switched = app
        .post_json(
            "/api/v1/switches",
            &operator,
            &json!({"service": "findings.read", "state": "on", "tenant_id": lab,
                    "reason": "fixed"}),
        )
        .await;
    assert_eq!(switched.status(), reqwest::StatusCode::OK);
    browser.open(&finding_path).await;
    browser.wait_for_text(&title, true).await;
}
