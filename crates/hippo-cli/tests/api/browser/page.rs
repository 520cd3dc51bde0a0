//! What a person does in the browser, as test steps: open a page, type
//! into a form, click, wait (bounded) for what must appear, read the
//! page; and the artifacts: a screenshot and an axe-core check per page.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::elements::Element;
use serde_json::json;

use super::Browser;
use crate::helpers::{PDF, TestApp};

/// How long a step may wait for the page it expects.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(15);

impl Browser {
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// The first element matching `css`, waiting up to [`STEP_TIMEOUT`].
    pub async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(STEP_TIMEOUT)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!(
                "no {css} within {STEP_TIMEOUT:?} on {} ({e}); the page:\n{}",
                self.path().await,
                self.main_text().await
            ),
        }
    }

    /// Every element matching `css` now (none is an empty list).
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap()
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.unwrap();
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Set a field's value directly (date inputs take typed keys in the
    /// browser's locale order; the value is ISO in every locale).
    pub async fn set_value(&self, css: &str, value: &str) {
        let field = self.wait_for(css).await;
        self.client
            .execute(
                "arguments[0].value = arguments[1];",
                vec![serde_json::to_value(&field).unwrap(), json!(value)],
            )
            .await
            .unwrap();
    }

    /// Wait until the address bar shows a path (with query) for which
    /// `done` holds, e.g. after a form post and its redirect.
    pub async fn wait_for_path(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let path = self.path().await;
            if done(&path) {
                return path;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "not on {what} within {STEP_TIMEOUT:?} but on {path}:\n{}",
                    self.main_text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Wait until `<main>` shows `needle` (after a post that answers with
    /// a page at the same address, or a change elsewhere), reloading the
    /// page between looks when `reload` is set.
    pub async fn wait_for_text(&self, needle: &str, reload: bool) -> String {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let text = self.main_text().await;
            if text.contains(needle) {
                return text;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "{needle:?} not shown within {STEP_TIMEOUT:?} on {}:\n{text}",
                    self.path().await
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            if reload {
                self.client.refresh().await.unwrap();
            }
        }
    }

    /// The current path and query, as the address bar shows them.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The visible text of `<main>` (the whole body if there is none).
    pub async fn main_text(&self) -> String {
        let text = self
            .client
            .execute(
                "const m = document.querySelector('main') || document.body; \
                 return m ? m.innerText : '';",
                vec![],
            )
            .await
            .unwrap();
        text.as_str().unwrap_or_default().to_owned()
    }

    /// The visible text of the first `css` element (waiting for it).
    pub async fn text_of(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.unwrap()
    }

    /// `<html lang>` of the current page.
    pub async fn page_language(&self) -> String {
        self.client
            .execute("return document.documentElement.lang;", vec![])
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Log in through the login form, as a person would: password, then
    /// for staff and operators the code from their authenticator app
    /// (computed from the demo's `totp_secret`).
    pub async fn log_in(&self, user: &hippo_cli::demo::DemoUser) {
        self.open("/login").await;
        self.type_into("input[name=email]", &user.email).await;
        self.type_into("input[name=password]", &user.password).await;
        self.click("form[action='/login'] button[type=submit]")
            .await;
        let path = self
            .wait_for_path("a page after the password", |p| p != "/login")
            .await;
        if path.starts_with("/login/second-factor") {
            let code = crate::helpers::next_totp_code(user, None).await;
            self.type_into("input[name=code]", &code).await;
            self.click("form[action='/login/second-factor'] button[type=submit]")
                .await;
        }
        self.wait_for_path("a page after the login", |p| !p.starts_with("/login"))
            .await;
    }

    /// Log out with the navigation's button.
    pub async fn log_out(&self) {
        self.click("form[action='/logout'] button[type=submit]")
            .await;
        self.wait_for_path("the login page", |p| p.starts_with("/login"))
            .await;
    }

    /// Replay requests as someone copying them out of the developer
    /// tools would (the page's own scripts cannot: its CSP allows no
    /// `fetch`): the browser's cookies, HttpOnly ones included (devtools
    /// show them), on each path, all at once; each answer's status and
    /// body text.
    pub async fn replay(&self, paths: &[String]) -> Vec<(u16, String)> {
        let cookies = self
            .client
            .get_all_cookies()
            .await
            .unwrap()
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let requests = paths.iter().map(|path| {
            let request = client
                .get(format!("{}{path}", self.base))
                .header("cookie", &cookies)
                .send();
            async move {
                let response = request.await.unwrap();
                let status = response.status().as_u16();
                (status, response.text().await.unwrap())
            }
        });
        futures_util::future::join_all(requests).await
    }

    /// Artifacts of a main page: a PNG under `target/browser-screenshots/`,
    /// and axe-core's check (fails on a serious or critical violation).
    pub async fn check_page(&self, name: &str) {
        self.screenshot(name).await;
        super::axe::assert_accessible(self, name).await;
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!(
            "{}-{}-{name}.png",
            self.test_name,
            self.language.tag()
        ));
        std::fs::write(&file, png).unwrap();
    }
}

/// `target/browser-screenshots` of the workspace (or of CARGO_TARGET_DIR).
fn screenshot_dir() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("browser-screenshots")
}

/// A text from the UI catalogs (`locales/<lang>/<area>.ftl`), so that
/// assertions follow the wording instead of copying it.
pub fn catalog_text(language: super::BrowserLanguage, key: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../hippo-server/locales")
        .join(language.tag());
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=')
                && k.trim() == key
            {
                return v.trim().to_owned();
            }
        }
    }
    panic!("no {key} in {}", dir.display())
}

/// The demo PDF in a file, for a file input (chromedriver reads it from
/// the path: browser and test run on the same machine).
pub fn pdf_file(app: &TestApp) -> std::path::PathBuf {
    let path = app.dir.join("browser-upload.pdf");
    std::fs::write(&path, PDF).unwrap();
    path
}
