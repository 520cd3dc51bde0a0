//! Incident drill: re-create the 2021 test-centre bug (one route stops
//! checking the owner), let an attacker read other patients' findings
//! through it, and check that the blast-radius report names exactly those
//! patients, their tenants, the attacker and the first access.

use std::collections::BTreeSet;

use hippo_core::time_util::{now_millis, rfc3339};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Fences, test_app};

const PDF_ROUTE: &str = "GET /api/v1/findings/{id}/pdf";

#[tokio::test]
async fn blast_radius_names_exactly_the_victims_the_attacker_and_the_first_access() {
    let app = test_app()
        .fences(Fences {
            safeplay_drill: true,
            ..Fences::default()
        })
        .spawn()
        .await;
    let start = now_millis() - 1;

    // Honest traffic on the same route: owners and their facilities.
    let max = app.login("max.schmidt").await;
    let keller = app.login("a.keller").await;
    let erika = app.login("erika").await;
    for f in &max.user.finding_ids {
        assert_eq!(
            app.get(&format!("/api/v1/findings/{f}/pdf"), &max)
                .await
                .status(),
            StatusCode::OK
        );
        assert_eq!(
            app.get(&format!("/api/v1/findings/{f}/pdf"), &keller)
                .await
                .status(),
            StatusCode::OK
        );
    }
    for f in &erika.user.finding_ids {
        app.get(&format!("/api/v1/findings/{f}/pdf"), &erika).await;
    }

    // The attack: Sophie counts through other people's findings.
    let attacker = app.login("sophie.wagner").await;
    let leon = app.user("leon.hoffmann");
    let stolen: Vec<_> = max
        .user
        .finding_ids
        .iter()
        .chain(leon.finding_ids.iter())
        .copied()
        .collect();
    for f in &stolen {
        let r = app
            .get(&format!("/api/v1/findings/{f}/pdf"), &attacker)
            .await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "the drill's bug lets the attacker in"
        );
    }
    // Her own finding, and the other routes, still check the owner.
    app.get(
        &format!("/api/v1/findings/{}/pdf", attacker.user.finding_ids[0]),
        &attacker,
    )
    .await;
    let detail = app
        .get(&format!("/api/v1/findings/{}", stolen[0]), &attacker)
        .await;
    assert_eq!(detail.status(), StatusCode::NOT_FOUND);

    let first_attack: i64 = sqlx::query_scalar(
        "SELECT MIN(at) FROM audit_records WHERE actor_id = $1 AND action = 'finding_pdf_download' \
         AND resource_id <> $2",
    )
    .bind(&attacker.actor_id)
    .bind(attacker.user.finding_ids[0].to_string())
    .fetch_one(&app.db)
    .await
    .unwrap();

    let out = app
        .command()
        .args([
            "forensics",
            "blast-radius",
            "--reason",
            "drill: stolen PDFs",
            "--format",
            "json",
            "--route",
            PDF_ROUTE,
            "--from",
        ])
        .arg(rfc3339(start))
        .arg("--data-dir")
        .arg(&app.dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();

    assert_eq!(report["accesses"], stolen.len());
    assert_eq!(report["first"], first_attack);
    let actors: Vec<&String> = report["actors"].as_object().unwrap().keys().collect();
    assert_eq!(actors, [&format!("patient:{}", attacker.actor_id)]);
    let affected: BTreeSet<(String, String)> = report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| {
            t["patients"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        t["tenant_name"].as_str().unwrap().to_owned(),
                        p["patient_id"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("Labor Nord".to_owned(), max.user.patient_ids[0].to_string()),
        (
            "Testzentrum Hafen".to_owned(),
            leon.patient_ids[0].to_string(),
        ),
    ]
    .into();
    assert_eq!(affected, expected);

    // The operator API gives the same answer, and the Markdown report and
    // the timeline picture are written.
    let operator = app.login("oncall@").await;
    let api: Value = app
        .get_json(
            &format!(
                "/api/v1/forensics/blast-radius?reason=drill%20stolen%20PDFs&routes={}&from={}",
                urlencode(PDF_ROUTE),
                urlencode(&rfc3339(start))
            ),
            &operator,
        )
        .await;
    assert_eq!(api["accesses"], report["accesses"]);
    assert_eq!(api["tenants"], report["tenants"]);
    let svg = app.dir.join("timeline.svg");
    let out = app
        .command()
        .args([
            "forensics",
            "blast-radius",
            "--reason",
            "drill: stolen PDFs",
            "--format",
            "markdown",
            "--route",
            PDF_ROUTE,
            "--svg",
        ])
        .arg(&svg)
        .arg("--data-dir")
        .arg(&app.dir)
        .output()
        .unwrap();
    let markdown = String::from_utf8(out.stdout).unwrap();
    assert!(
        markdown.contains("# Blast radius") && markdown.contains("Testzentrum Hafen"),
        "{markdown}"
    );
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(
        picture.starts_with("<svg") && picture.contains("<rect x="),
        "{picture}"
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
