//! axe-core (from npm, never fetched at test time) run inside the page:
//! a serious or critical violation fails the test, listed with the
//! elements it concerns.

use serde_json::Value;

use super::Browser;

/// `axe.min.js`: `HIPPO_TEST_AXE` (set by `scripts/test`), else where
/// `npm install --prefix target/npm axe-core@4` puts it.
fn axe_source() -> String {
    let path = std::env::var_os("HIPPO_TEST_AXE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/npm/node_modules/axe-core/axe.min.js")
        });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "this test needs axe-core at {} ({e}): `npm install --prefix target/npm axe-core@4`, \
             or run `scripts/test`",
            path.display()
        )
    })
}

/// Run axe on the current page; panic listing every serious or critical
/// violation.
pub async fn assert_accessible(browser: &Browser, page: &str) {
    let blocking = serious_violations(browser, page).await;
    assert!(
        blocking.is_empty(),
        "axe-core: serious or critical violations on {page} ({}):\n{}",
        browser.path().await,
        blocking.join("\n")
    );
}

/// axe-core's serious and critical violations on the current page, one
/// description (rule, impact, help, elements) each.
async fn serious_violations(browser: &Browser, page: &str) -> Vec<String> {
    // WebDriver scripts run outside the page's Content-Security-Policy.
    browser.client.execute(&axe_source(), vec![]).await.unwrap();
    let result = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, {resultTypes: ['violations']}) \
               .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, \
                  nodes: v.nodes.map(n => n.target.join(' ') + ' ' + n.html.slice(0, 160))})))) \
               .catch(e => done({error: String(e)}));",
            vec![],
        )
        .await
        .unwrap();
    let Value::Array(violations) = result else {
        panic!("axe did not run on {page}: {result}")
    };
    let blocking: Vec<String> = violations
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| {
            let nodes: Vec<&str> = v["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            format!(
                "  {} ({}): {}\n    {}",
                v["id"].as_str().unwrap_or("?"),
                v["impact"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or("?"),
                nodes.join("\n    ")
            )
        })
        .collect();
    blocking
}

/// The check can fail: on a page with an unlabelled input, an image
/// without text and no language it reports exactly those.
#[tokio::test]
async fn browser_axe_check_finds_violations_on_a_broken_page() {
    let browser = Browser::start(
        "http://127.0.0.1:9",
        super::BrowserLanguage::English,
        "axe_self_test",
    )
    .await;
    browser
        .client
        .goto("data:text/html,<html><body><img src='x.png'><input type='text'></body></html>")
        .await
        .unwrap();
    let found = serious_violations(&browser, "a broken page")
        .await
        .join("\n");
    for rule in ["image-alt", "label", "html-has-lang"] {
        assert!(found.contains(rule), "axe missed {rule}:\n{found}");
    }
}
