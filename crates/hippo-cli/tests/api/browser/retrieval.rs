//! A retrieval code used without an account: staff issue it (API), a
//! person with the printed code and their birth date opens the one
//! finding on /retrieve, and its PDF once.

use serde_json::Value;

use super::{Browser, BrowserLanguage};
use crate::helpers::spawn_app;

const MAX_BIRTH_DATE: &str = "1978-03-02";

#[tokio::test]
async fn browser_retrieval_code_opens_the_finding_without_an_account() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    let finding = max.finding_ids[0].to_string();
    let keller = app.login("a.keller").await;
    let issued = app
        .post_empty(
            &format!("/api/v1/findings/{finding}/retrieval-codes"),
            &keller,
        )
        .await;
    assert_eq!(issued.status(), reqwest::StatusCode::CREATED);
    let issued: Value = issued.json().await.unwrap();
    let code = issued["code"].as_str().unwrap().to_owned();
    let expected: Value = app
        .get_json(&format!("/api/v1/findings/{finding}"), &keller)
        .await;
    let title = expected["title"].as_str().unwrap();

    let browser = Browser::start(&app.url, BrowserLanguage::German, "retrieval").await;
    browser.open("/retrieve").await;
    browser.wait_for("form[action='/retrieve']").await;
    browser.check_page("retrieve").await;

    // A wrong birth date opens nothing and says so.
    browser.type_into("input[name=code]", &code).await;
    browser
        .set_value("input[name=date_of_birth]", "1978-03-03")
        .await;
    browser
        .click("form[action='/retrieve'] button[type=submit]")
        .await;
    browser.wait_for("[role=alert]").await;
    assert!(!browser.main_text().await.contains(title));
    assert!(browser.all("main table").await.is_empty());

    browser.type_into("input[name=code]", &code).await;
    browser
        .set_value("input[name=date_of_birth]", MAX_BIRTH_DATE)
        .await;
    browser
        .click("form[action='/retrieve'] button[type=submit]")
        .await;
    let page = browser.wait_for_text(title, false).await;
    for observation in expected["observations"].as_array().unwrap() {
        let display = observation["display"].as_str().unwrap();
        assert!(page.contains(display), "{display}:\n{page}");
    }
    browser.check_page("retrieved").await;
    // Nothing of the account's other findings, nor any navigation of a
    // logged-in user.
    assert!(browser.all("form[action='/logout']").await.is_empty());
    assert!(browser.all("a[href^='/findings/']").await.is_empty());

    let pdf = browser
        .wait_for("main a[href^='/retrieve/pdf/']")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    // Asked twice at once: one answer is the PDF, the other is refused.
    let answers = browser.replay(&[pdf.clone(), pdf]).await;
    let delivered: Vec<_> = answers
        .iter()
        .filter(|(status, _)| *status == 200)
        .collect();
    assert_eq!(
        delivered.len(),
        1,
        "a PDF link works once: {:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert!(delivered[0].1.starts_with("%PDF-"));
}
