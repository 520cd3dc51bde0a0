//! Messaging both ways through the pages: a patient writes to their
//! facility, a clinician answers from the inbox, the patient reads the
//! answer; another patient cannot open the conversation.

use super::{Browser, BrowserLanguage, catalog_text};
use crate::helpers::spawn_app;

#[tokio::test]
async fn browser_messaging_both_ways() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    let keller = app.user("a.keller");
    let sophie = app.user("sophie.wagner");
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let subject = format!("Frage zum Blutbild {}", &marker[..8]);
    let question = format!("Ist mein Hämoglobin bedenklich? ({marker})");
    let answer = format!("Nein, der Wert ist unbedenklich. ({marker})");

    let browser = Browser::start(&app.url, BrowserLanguage::German, "messaging").await;
    browser.log_in(&max).await;
    browser.open("/messages/new").await;
    browser.wait_for("form[action='/messages']").await;
    browser.check_page("new_message").await;
    // Max is a patient of one facility: it is preselected.
    browser.type_into("input[name=subject]", &subject).await;
    browser.type_into("textarea[name=body]", &question).await;
    browser
        .click("form[action='/messages'] button[type=submit]")
        .await;
    let thread_path = browser
        .wait_for_path("the new conversation", |p| {
            p.starts_with("/messages/") && p != "/messages/new"
        })
        .await;
    browser.wait_for_text(&question, false).await;
    browser.log_out().await;

    // The clinician finds it in the inbox and answers.
    browser.log_in(&keller).await;
    browser.open("/messages").await;
    browser
        .wait_for(&format!("main a[href='{thread_path}']"))
        .await;
    browser.check_page("inbox").await;
    browser
        .click(&format!("main a[href='{thread_path}']"))
        .await;
    browser.wait_for_text(&question, false).await;
    browser.check_page("thread_staff").await;
    browser.type_into("textarea[name=body]", &answer).await;
    browser
        .click(&format!(
            "form[action='{thread_path}/reply'] button[type=submit]"
        ))
        .await;
    browser
        .wait_for_path("the conversation", |p| p == thread_path)
        .await;
    browser.wait_for_text(&answer, false).await;
    browser.log_out().await;

    // The patient sees the answer.
    browser.log_in(&max).await;
    browser.open("/messages").await;
    browser
        .click(&format!("main a[href='{thread_path}']"))
        .await;
    let page = browser.wait_for_text(&answer, false).await;
    assert!(page.contains(&question), "{page}");
    browser.check_page("thread_patient").await;
    browser.log_out().await;

    // Another patient of the same facility gets not-found, and no trace of
    // it in her list.
    browser.log_in(&sophie).await;
    browser.open(&thread_path).await;
    assert_eq!(
        browser.text_of("h1").await.trim(),
        catalog_text(BrowserLanguage::German, "error-title-not-found")
    );
    let text = browser.main_text().await;
    assert!(
        !text.contains(&marker) && !text.contains(&subject),
        "{text}"
    );
    browser.open("/messages").await;
    browser.wait_for("h1").await;
    assert!(
        browser
            .all(&format!("a[href='{thread_path}']"))
            .await
            .is_empty()
    );
    assert!(!browser.main_text().await.contains(&subject));
}
