//! The attacker scenario of the test-centre leak, in the browser: a
//! logged-in patient edits the finding ID in the address bar (other
//! patients' IDs, other facilities' IDs, drafts, counted-up numbers,
//! random UUIDs) and replays the page's requests with them from the
//! developer tools. Every answer is the same not-found page, and the
//! operator's alert page shows the probing.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Browser, BrowserLanguage, catalog_text};
use crate::helpers::test_app;

/// Random IDs replayed at once from the page (Chromium queues them over
/// its six connections per host): many concurrent clients' worth of
/// lookups against the server, each answered not-found.
const RANDOM_REPLAYS: usize = 100;

#[tokio::test]
async fn browser_attacker_edits_and_replays_finding_ids_and_gets_only_not_found() {
    let app = test_app()
        .configure(|c| {
            c.anomaly_every = Duration::from_millis(100);
            c.anomaly_thresholds.refused_lookups = 10;
        })
        .spawn()
        .await;
    let sophie = app.user("sophie.wagner");
    let own = sophie.finding_ids[0].to_string();
    // Everything she must not see: every other finding of both facilities
    // (other patients', drafts, the retracted one).
    let foreign: BTreeSet<String> = app
        .world
        .users
        .iter()
        .filter(|u| u.role == "clinician")
        .flat_map(|u| u.finding_ids.iter().map(|f| f.to_string()))
        .filter(|f| !sophie.finding_ids.iter().any(|s| s.to_string() == *f))
        .collect();
    assert!(foreign.len() >= 10, "{}", foreign.len());
    // Their names and titles, which must never reach her.
    let others_names: Vec<&str> = vec!["Mustermann", "Schmidt", "Becker", "Hoffmann", "Schulz"];

    let browser = Browser::start(&app.url, BrowserLanguage::German, "attacker").await;
    browser.log_in(&sophie.email, &sophie.password).await;
    browser.open(&format!("/findings/{own}")).await;
    browser.wait_for("main table").await;

    // The address bar: one ID after another.
    let not_found_title = catalog_text(BrowserLanguage::German, "error-title-not-found");
    let random = uuid::Uuid::new_v4().to_string();
    browser.open(&format!("/findings/{random}")).await;
    assert_eq!(browser.text_of("h1").await.trim(), not_found_title);
    let not_found_page = browser.main_text().await;
    browser.check_page("not_found").await;
    let edited: Vec<String> = foreign
        .iter()
        .cloned()
        .chain(["1", "2", "3", "4"].map(String::from))
        .collect();
    for id in &edited {
        browser.open(&format!("/findings/{id}")).await;
        assert_eq!(browser.text_of("h1").await.trim(), not_found_title, "{id}");
        assert_eq!(
            browser.main_text().await,
            not_found_page,
            "/findings/{id} answers unlike an ID that does not exist"
        );
        browser.open(&format!("/findings/{id}/pdf")).await;
        assert_eq!(browser.text_of("h1").await.trim(), not_found_title, "{id}");
    }

    // The developer tools: the page's requests replayed with other IDs,
    // her session cookie attached; the JSON API (which takes no cookie).
    browser.open(&format!("/findings/{own}")).await;
    browser.wait_for("main table").await;
    let mut paths = Vec::new();
    for id in foreign
        .iter()
        .cloned()
        .chain((0..RANDOM_REPLAYS).map(|_| uuid::Uuid::new_v4().to_string()))
    {
        paths.push(format!("/findings/{id}"));
        paths.push(format!("/findings/{id}/pdf"));
        paths.push(format!("/api/v1/findings/{id}"));
        paths.push(format!("/api/v1/findings/{id}/pdf"));
    }
    let answers = browser.replay(&paths).await;
    assert_eq!(answers.len(), paths.len());
    let mut page_bodies = BTreeSet::new();
    for (path, (status, body)) in paths.iter().zip(&answers) {
        if path.starts_with("/api/") {
            assert!(
                matches!(status, 401 | 404),
                "{path}: {status} {body}"
            );
        } else {
            assert_eq!(*status, 404, "{path}: {body}");
            page_bodies.insert(body.clone());
        }
        for name in &others_names {
            assert!(!body.contains(name), "{path} shows {name}: {body}");
        }
        assert!(!body.contains("%PDF"), "{path} delivered a PDF");
    }
    assert_eq!(
        page_bodies.len(),
        1,
        "every refused page is the same page, foreign or non-existent ID"
    );
    // Her own finding still opens: refusals change nothing for her data.
    browser.open(&format!("/findings/{own}")).await;
    browser.wait_for("main table").await;
    browser.log_out().await;

    // The operator sees the probing on the alert page.
    // (The operator's TOTP step goes into `log_in` once it lands.)
    let operator = app.user("oncall@");
    let actor = app.actor_id(&sophie.email).await;
    browser.log_in(&operator.email, &operator.password).await;
    browser.open("/alerts").await;
    let rules = ["refused_burst", "sequential_probing"];
    let raised = |page: &str, rule: &str| {
        page.lines()
            .any(|line| line.contains(rule) && line.contains(&actor))
    };
    let mut page = browser.wait_for_text(&actor, true).await;
    // The watcher runs every 100 ms; both rules within the step timeout.
    for _ in 0..50 {
        if rules.iter().all(|rule| raised(&page, rule)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        browser.client.refresh().await.unwrap();
        page = browser.main_text().await;
    }
    for rule in rules {
        assert!(
            raised(&page, rule),
            "no {rule} alert for {actor} on the alert page:\n{page}"
        );
    }
    browser.check_page("alerts").await;
    // And her data is not on the operator's page (pseudonymous IDs only).
    for name in ["Sophie", "Wagner"] {
        assert!(!page.contains(name), "{name} on the alert page");
    }
}
