//! The operators' forensic API pages through large selections: every page
//! is an index range, pages neither overlap nor skip, and the totals
//! describe the whole selection.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn forensic_accesses_come_in_pages_that_neither_overlap_nor_skip() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    for _ in 0..3 {
        app.get("/api/v1/findings", &keller).await;
        app.get("/api/v1/patients", &keller).await;
    }
    let operator = app.login("oncall@").await;
    let actor = app.actor_id(&app.user("a.keller").email).await;

    let everything: Value = app
        .get_json(
            &format!("/api/v1/forensics/accesses?reason=paging%20test&actor={actor}&limit=100000"),
            &operator,
        )
        .await;
    let total = everything["total"].as_u64().expect("total");
    assert!(total >= 7, "login and six reads at least, got {total}");
    assert_eq!(
        everything["records"].as_array().map(Vec::len),
        Some(total as usize)
    );
    assert!(everything["next"].is_null());

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let cursor = after
            .as_ref()
            .map(|c| format!("&after={c}"))
            .unwrap_or_default();
        let page: Value = app
            .get_json(
                &format!(
                    "/api/v1/forensics/accesses?reason=paging%20test&actor={actor}&limit=2{cursor}"
                ),
                &operator,
            )
            .await;
        assert_eq!(
            page["total"].as_u64(),
            Some(total),
            "totals are of the whole selection"
        );
        assert_eq!(page["first"], everything["first"]);
        assert_eq!(page["last"], everything["last"]);
        let records = page["records"].as_array().expect("records");
        assert!(records.len() <= 2);
        seen.extend(records.iter().map(|r| r["seq"].as_u64().expect("seq")));
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    let all: Vec<u64> = everything["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(
        seen, all,
        "the pages, joined, are the whole selection in order"
    );
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), seen.len());

    // A cursor that no page produced is bad input, not a server error.
    let bad = app
        .get(
            "/api/v1/forensics/accesses?reason=paging%20test&after=not-a-cursor",
            &operator,
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = bad.json().await.expect("json");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("after"),
        "{body}"
    );
}

/// The operator console's forensic page answers the same questions in the
/// browser: the accesses of one patient record, with the totals, and the
/// blast radius of the selection; other principals get nothing.
#[tokio::test]
async fn operators_see_who_accessed_a_record_in_the_console() {
    let app = spawn_app().await;
    let max = app.login("max.schmidt").await;
    let finding = max.user.finding_ids[0];
    let patient = max.user.patient_ids[0];
    app.get(&format!("/api/v1/findings/{finding}"), &max).await;
    let operator = app.login("oncall@").await;
    let page = app
        .web_get(
            &format!("/forensics?reason=console%20test&patient={patient}"),
            &operator,
        )
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("finding_read"), "the access is listed");
    assert!(html.contains(&max.actor_id), "with its actor");
    assert!(html.contains("Blast radius"));
    assert!(!html.contains("Schmidt"), "no patient names");
    // A bad window is refused clearly, and nobody else may look.
    let bad = app
        .web_get("/forensics?reason=console%20test&from=yesterday", &operator)
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for other in ["max.schmidt", "a.keller", "admin@labor-nord"] {
        let session = app.login(other).await;
        let refused = app.web_get("/forensics", &session).await;
        assert!(
            refused.status() == StatusCode::FORBIDDEN || refused.status() == StatusCode::NOT_FOUND,
            "{other}: {}",
            refused.status()
        );
    }
}
