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

/// Random IDs replayed at once with her cookies (four requests each, all
/// concurrent): hundreds of simultaneous lookups against the server, each
/// answered not-found, while her own finding still opens afterwards.
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
    // The other demo patients' family names, which must never reach her.
    let others_names = [
        "Mustermann",
        "Schmidt",
        "Becker",
        "Hoffmann",
        "Schulz",
        "Fischer",
    ];

    let browser = Browser::start(&app.url, BrowserLanguage::German, "attacker").await;
    browser.log_in(&sophie).await;
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

    // The developer tools: the page's requests copied out and replayed
    // with other IDs, her session cookie attached, and against the JSON
    // API (which takes no cookie: 401, or 404 before sessions are bound
    // to their surface).
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
            assert!(matches!(status, 401 | 404), "{path}: {status} {body}");
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
    browser.log_in(&operator).await;
    // The rules the probing must raise, as the alert API names them; the
    // page shows a row per alert with the actor's pseudonymous ID (rule
    // names there are for people, and may be translated).
    let api_operator = app.login("oncall@").await;
    let rules = ["refused_burst", "sequential_probing"];
    let actor_label = format!("patient:{actor}");
    let mut raised = Vec::new();
    for _ in 0..100 {
        let alerts = app.get_json("/api/v1/alerts", &api_operator).await;
        raised = alerts
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["actor"] == actor_label.as_str())
            .filter_map(|a| a["rule"].as_str().map(str::to_owned))
            .collect();
        if rules.iter().all(|r| raised.iter().any(|x| x == r)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for rule in rules {
        assert!(
            raised.iter().any(|r| r == rule),
            "no {rule} alert for {actor_label}: {raised:?}"
        );
    }
    browser.open("/alerts").await;
    let page = browser.wait_for_text(&actor, true).await;
    let rows = page.lines().filter(|line| line.contains(&actor)).count();
    assert!(
        rows >= rules.len(),
        "the alert page shows {rows} alerts for {actor}, the API {raised:?}:\n{page}"
    );
    browser.check_page("alerts").await;
    // The operator console's other main pages pass the same check.
    for (path, name) in [
        ("/tenants", "tenants"),
        ("/switches", "switches"),
        ("/forensics", "forensics"),
    ] {
        browser.open(path).await;
        browser.wait_for("h1").await;
        browser.check_page(name).await;
    }
    // And her data is not on the operator's page (pseudonymous IDs only).
    for name in ["Sophie", "Wagner"] {
        assert!(!page.contains(name), "{name} on the alert page");
    }
}
