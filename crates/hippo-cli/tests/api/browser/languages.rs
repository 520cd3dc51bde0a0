//! German and English pages: the browser's language decides the first
//! page; the footer's switch changes it and sticks across pages and the
//! login, until switched back.

use super::{Browser, BrowserLanguage, catalog_text};
use crate::helpers::spawn_app;

fn other(language: BrowserLanguage) -> BrowserLanguage {
    match language {
        BrowserLanguage::German => BrowserLanguage::English,
        BrowserLanguage::English => BrowserLanguage::German,
    }
}

/// The page is in `language`: `<html lang>` and a text from its catalog.
async fn assert_in(browser: &Browser, language: BrowserLanguage, css: &str, key: &str) {
    assert_eq!(
        browser.page_language().await,
        language.tag(),
        "{}",
        browser.path().await
    );
    assert_eq!(
        browser.text_of(css).await.trim(),
        catalog_text(language, key),
        "{css} on {}",
        browser.path().await
    );
}

#[tokio::test]
async fn browser_language_follows_the_browser_and_the_switch_sticks() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    let finding = max.finding_ids[0];
    for language in [BrowserLanguage::German, BrowserLanguage::English] {
        let browser = Browser::start(&app.url, language, "languages").await;
        browser.open("/login").await;
        assert_in(&browser, language, "h1", "login-title").await;
        browser.screenshot("login").await;

        // The footer's switch: a plain link, back to the same page.
        browser.click("footer a[hreflang]").await;
        let switched = other(language);
        browser
            .wait_for_path("the login page again", |p| p.starts_with("/login"))
            .await;
        assert_in(&browser, switched, "h1", "login-title").await;
        browser.check_page("login_switched").await;

        // It sticks: through the login and on every page after it.
        browser.log_in(&max).await;
        for path in [
            "/findings".to_owned(),
            format!("/findings/{finding}"),
            "/messages".to_owned(),
            "/access-log".to_owned(),
        ] {
            browser.open(&path).await;
            assert_in(
                &browser,
                switched,
                "nav a[href='/findings']",
                "nav-my-findings",
            )
            .await;
        }
        browser.screenshot("findings_switched").await;

        // And back.
        browser.click("footer a[hreflang]").await;
        browser
            .wait_for_path("the access log again", |p| p.starts_with("/access-log"))
            .await;
        assert_in(
            &browser,
            language,
            "nav a[href='/findings']",
            "nav-my-findings",
        )
        .await;
    }
}
