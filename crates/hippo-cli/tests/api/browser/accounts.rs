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

/// A new member's first day, in English: the admin invites them on
/// `/staff`, they set their password from the mailed link, log in, must
/// enrol TOTP from the QR page before they get a session, and see their
/// recovery codes once.
#[tokio::test]
async fn browser_new_member_is_invited_sets_a_password_and_must_enrol_totp() {
    let app = spawn_app().await;
    let admin = app.user("admin@labor-nord");
    let en = BrowserLanguage::English;
    let email = "nora.neu@labor-nord.example";
    let password = "Erster-Arbeitstag-2026";

    let browser = Browser::start(&app.url, en, "new-member").await;
    browser.log_in(&admin).await;
    browser.open("/staff").await;
    browser.type_into("#invite-name", "Nora Neu").await;
    browser.type_into("#invite-email", email).await;
    browser
        .click("form[action='/staff'] button[type=submit]")
        .await;
    browser.wait_for_text(email, false).await;
    browser.log_out().await;

    // The link of the invitation mail (the outbox row the sender mails).
    let (token,): (String,) = sqlx::query_as(
        "SELECT link_token FROM notification_outbox WHERE recipient = $1 \
         AND kind = 'staff_invitation'",
    )
    .bind(email)
    .fetch_one(&app.db)
    .await
    .unwrap();
    browser.open(&format!("/invitation?token={token}")).await;
    browser
        .wait_for_text(&catalog_text(en, "admin-invitation-title"), false)
        .await;
    browser.check_page("invitation").await;
    browser.type_into("#invitation-password", password).await;
    browser.type_into("#invitation-repeat", password).await;
    browser
        .click("form[action='/invitation'] button[type=submit]")
        .await;
    browser
        .wait_for_text(&catalog_text(en, "admin-invitation-done"), false)
        .await;

    // The password alone opens no session: the enrolment page.
    browser.open("/login").await;
    browser.type_into("input[name=email]", email).await;
    browser.type_into("input[name=password]", password).await;
    browser
        .click("form[action='/login'] button[type=submit]")
        .await;
    browser
        .wait_for_path("the enrolment page", |p| p == "/login/enrol")
        .await;
    browser.wait_for("figure.qr svg").await;
    browser.check_page("enrol").await;
    let secret = browser.text_of("code.secret").await;
    let code = crate::helpers::totp_for(secret.trim())
        .generate(crate::helpers::unix_secs())
        .to_string();
    browser.type_into("#enrol-code", &code).await;
    browser
        .click("form[action='/login/enrol'] button[type=submit]")
        .await;
    browser
        .wait_for_text(&catalog_text(en, "account-recovery-title"), false)
        .await;
    assert_eq!(browser.all("ol.recovery-codes li").await.len(), 10);
    browser.check_page("recovery-codes").await;
    // Now logged in: the continue link leads to the staff's patient list.
    browser.click("main a[href='/']").await;
    browser
        .wait_for_path("the patient list", |p| p == "/patients")
        .await;
    browser.wait_for("nav a[href='/account/sessions']").await;
}
