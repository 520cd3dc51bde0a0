//! The account and administration pages of issue 12 in the browser, each
//! reached through the page links a person would use and checked with axe:
//! a tenant admin's staff list, API keys and facility settings; everyone's
//! account security, sessions and passkeys; the forgotten-password form.

use super::{Browser, BrowserLanguage, catalog_text};
use crate::helpers::spawn_app;

/// Follow the link `href` from the current page, wait for its heading.
async fn follow(browser: &Browser, href: &str, title_key: &str, language: BrowserLanguage) {
    browser.click(&format!("a[href='{href}']")).await;
    browser.wait_for_path(href, |p| p.starts_with(href)).await;
    browser
        .wait_for_text(&catalog_text(language, title_key), false)
        .await;
}

#[tokio::test]
async fn browser_account_and_admin_pages_are_reachable_and_accessible() {
    let app = spawn_app().await;
    let admin = app.user("admin@labor-nord");
    let de = BrowserLanguage::German;

    let browser = Browser::start(&app.url, de, "accounts").await;
    browser.log_in(&admin).await;

    follow(&browser, "/staff", "admin-staff-title", de).await;
    let staff = browser.main_text().await;
    assert!(staff.contains("a.keller@labor-nord.example"), "{staff}");
    browser.check_page("staff").await;

    follow(&browser, "/api-keys", "admin-keys-title", de).await;
    browser.check_page("api-keys").await;

    follow(&browser, "/settings", "admin-settings-title", de).await;
    let zone = browser
        .wait_for("select[name=time_zone]")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(zone.as_deref(), Some("Europe/Berlin"));
    browser.check_page("settings").await;

    follow(&browser, "/account/security", "account-security-title", de).await;
    browser.check_page("account-security").await;

    follow(&browser, "/account/passkeys", "passkey-title", de).await;
    browser.check_page("passkeys").await;

    follow(&browser, "/account/sessions", "sessions-title", de).await;
    let sessions = browser.main_text().await;
    // This browser's own session, by device label and marked as current.
    assert!(sessions.contains("Chrom"), "{sessions}");
    assert!(
        sessions.contains(&catalog_text(de, "sessions-current")),
        "{sessions}"
    );
    browser.check_page("sessions").await;
    browser.log_out().await;

    // Anonymous: the way from the login form to a reset mail.
    browser.click("a[href='/password/forgot']").await;
    browser
        .wait_for_text(&catalog_text(de, "password-forgot-title"), false)
        .await;
    browser.check_page("password-forgot").await;
    browser
        .type_into("input[name=email]", "nobody@example.org")
        .await;
    browser
        .click("form[action='/password/forgot'] button[type=submit]")
        .await;
    browser
        .wait_for_text(&catalog_text(de, "password-forgot-sent"), false)
        .await;
}
