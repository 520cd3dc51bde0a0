//! Two fences: the scoped store and the Cedar policy each deny on their own.
//! A test-only feature switches one off at a time; with both off the same
//! requests leak, which shows the test would notice a missing fence.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Fences, TestApp, test_app};

/// Patients and staff with no claim to Max's records.
const OUTSIDERS: [&str; 4] = [
    "sophie.wagner",
    "leon.hoffmann",
    "j.petersen",
    "admin@testzentrum",
];

/// Outsiders ask for Max's finding; returns the statuses they got.
async fn outsider_statuses(app: &TestApp) -> Vec<StatusCode> {
    statuses_of(app, &OUTSIDERS).await
}

/// What `outsiders` get when they ask for Max's finding, its PDF, his
/// patient record and its findings.
async fn statuses_of(app: &TestApp, outsiders: &[&str]) -> Vec<StatusCode> {
    let max = app.user("max.schmidt");
    let finding = max.finding_ids[0].to_string();
    let patient = max.patient_ids[0].to_string();
    let mut statuses = Vec::new();
    for outsider in outsiders {
        let session = app.login(outsider).await;
        for path in [
            format!("/api/v1/findings/{finding}"),
            format!("/api/v1/findings/{finding}/pdf"),
            format!("/api/v1/patients/{patient}"),
            format!("/api/v1/patients/{patient}/findings"),
        ] {
            statuses.push(app.get(&path, &session).await.status());
        }
    }
    statuses
}

async fn foreign_rows_in_lists(app: &TestApp) -> usize {
    let max = app.user("max.schmidt");
    let sophie = app.login("sophie.wagner").await;
    let own: Value = app.get_json("/api/v1/findings", &sophie).await;
    let other_staff = app.login("j.petersen").await;
    let patients: Value = app.get_json("/api/v1/patients", &other_staff).await;
    let text = format!("{own}{patients}");
    max.finding_ids
        .iter()
        .map(ToString::to_string)
        .chain(max.patient_ids.iter().map(ToString::to_string))
        .filter(|id| text.contains(id.as_str()))
        .count()
}

#[tokio::test]
async fn the_policy_alone_denies_when_store_scoping_is_off() {
    let app = test_app()
        .fences(Fences {
            bypass_store_scoping: true,
            bypass_policy: false,
            empty: false,
            safeplay_drill: false,
            // On PostgreSQL row-level security would deny first.
            bypass_row_level_security: true,
        })
        .spawn()
        .await;
    let statuses = outsider_statuses(&app).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::NOT_FOUND),
        "{statuses:?}"
    );
    assert_eq!(foreign_rows_in_lists(&app).await, 0);
    // The store found the objects; the policy refused them, and said so.
    let refused = app
        .count("SELECT COUNT(*) FROM audit_records WHERE outcome = 'denied' AND detail = 'policy'")
        .await;
    assert!(refused >= 8, "policy denials recorded: {refused}");
}

#[tokio::test]
async fn the_store_alone_denies_when_the_policy_is_off() {
    let app = test_app()
        .fences(Fences {
            bypass_store_scoping: false,
            bypass_policy: true,
            empty: false,
            safeplay_drill: false,
            bypass_row_level_security: true,
        })
        .spawn()
        .await;
    let statuses = outsider_statuses(&app).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::NOT_FOUND),
        "{statuses:?}"
    );
    assert_eq!(foreign_rows_in_lists(&app).await, 0);
}

#[tokio::test]
async fn with_both_fences_off_the_same_requests_leak() {
    let app = test_app()
        .fences(Fences {
            bypass_store_scoping: true,
            bypass_policy: true,
            empty: false,
            safeplay_drill: false,
            bypass_row_level_security: true,
        })
        .spawn()
        .await;
    let statuses = outsider_statuses(&app).await;
    assert!(statuses.contains(&StatusCode::OK), "{statuses:?}");
    assert!(foreign_rows_in_lists(&app).await > 0);
}

/// PostgreSQL's row-level security is a third fence: with the scoped SQL
/// and the policy both off, a staff member of another facility still gets
/// nothing of Max's, and a list query without its tenant filter returns
/// only the own tenant's rows. Switching row-level security off as well
/// makes the same requests leak.
#[tokio::test]
async fn row_level_security_alone_keeps_staff_inside_their_tenant_on_postgresql() {
    let database = crate::helpers::postgres_database().await;
    let fences = Fences {
        bypass_store_scoping: true,
        bypass_policy: true,
        empty: false,
        safeplay_drill: false,
        bypass_row_level_security: false,
    };
    let app = crate::helpers::test_app()
        .on_database(database)
        .fences(fences)
        .spawn()
        .await;
    let staff_statuses = staff_outsider_statuses(&app).await;
    assert!(
        staff_statuses.iter().all(|s| *s == StatusCode::NOT_FOUND),
        "{staff_statuses:?}"
    );
    assert_eq!(foreign_patients_in_staff_list(&app).await, 0);

    let database = crate::helpers::postgres_database().await;
    let app = crate::helpers::test_app()
        .on_database(database)
        .fences(Fences {
            bypass_row_level_security: true,
            ..fences
        })
        .spawn()
        .await;
    let leaked = staff_outsider_statuses(&app).await;
    assert!(leaked.contains(&StatusCode::OK), "{leaked:?}");
    assert!(foreign_patients_in_staff_list(&app).await > 0);
}

/// Staff of Testzentrum Hafen ask for Max's (Labor Nord) records.
async fn staff_outsider_statuses(app: &TestApp) -> Vec<StatusCode> {
    statuses_of(app, &["j.petersen", "admin@testzentrum"]).await
}

async fn foreign_patients_in_staff_list(app: &TestApp) -> usize {
    let max = app.user("max.schmidt");
    let petersen = app.login("j.petersen").await;
    let patients: Value = app.get_json("/api/v1/patients", &petersen).await;
    let text = patients.to_string();
    max.patient_ids
        .iter()
        .filter(|id| text.contains(&id.to_string()))
        .count()
}
