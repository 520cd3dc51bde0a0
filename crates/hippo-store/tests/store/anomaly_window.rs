//! The watcher's "one actor, many patients" rule, kept current from new
//! records only, must find what the rule's SQL form finds over the same
//! window, add up records appended between scans, and forget accesses
//! that leave the window.

use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::time_util::now_millis;
use hippo_core::{PatientId, TenantId};
use hippo_store::{Alert, AnomalyThresholds, ManyPatientsWindow};

/// `reader` reads one finding of each of `patients`.
fn reads(
    reader: &str,
    tenant: TenantId,
    patients: &[PatientId],
) -> Vec<(AuditActor, AuditEvent, RequestOrigin)> {
    patients
        .iter()
        .map(|patient| {
            (
                AuditActor {
                    kind: "clinician".into(),
                    id: Some(reader.into()),
                    tenant_id: Some(tenant),
                },
                AuditEvent::new(Action::FindingRead, ResourceKind::Finding, Outcome::Success)
                    .concerning(tenant, Some(*patient)),
                RequestOrigin::default(),
            )
        })
        .collect()
}

fn thresholds(distinct_patients: i64) -> AnomalyThresholds {
    AnomalyThresholds {
        distinct_patients,
        ..AnomalyThresholds::default()
    }
}

/// (actor, count) of the many-patients alerts, sorted.
fn many(alerts: &[Alert]) -> Vec<(String, i64)> {
    let mut found: Vec<_> = alerts
        .iter()
        .filter(|a| a.rule == "many_patients")
        .map(|a| (a.actor.clone().unwrap_or_default(), a.count))
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchers_window_finds_what_the_sql_rule_finds() {
    let tenant = TenantId::random();
    let patients: Vec<PatientId> = (0..8).map(|_| PatientId::random()).collect();
    let (sql_dir, window_dir) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let (sql_store, sql_log, ..) = super::open_log(sql_dir.path()).await;
    let (window_store, window_log, ..) = super::open_log(window_dir.path()).await;
    let t = thresholds(5);
    let mut window = ManyPatientsWindow::default();

    // Three patients each for two readers: nobody reaches five yet.
    for log in [&sql_log, &window_log] {
        log.append_bulk(reads("wide", tenant, &patients[..3]))
            .await
            .expect("append");
        log.append_bulk(reads("narrow", tenant, &patients[..3]))
            .await
            .expect("append");
    }
    let anomalies = window_store.unscoped_anomalies();
    let now = now_millis();
    assert!(many(&anomalies.watch(&mut window, now, t).await.expect("watch")).is_empty());

    // "wide" reads five more (one again), "narrow" one more: only the new
    // records are read, and they add up with the counted ones.
    for log in [&sql_log, &window_log] {
        log.append_bulk(reads("wide", tenant, &patients[2..8]))
            .await
            .expect("append");
        log.append_bulk(reads("narrow", tenant, &patients[3..4]))
            .await
            .expect("append");
    }
    let now = now_millis() + 1;
    let watched = many(&anomalies.watch(&mut window, now, t).await.expect("watch"));
    let scanned = many(
        &sql_store
            .unscoped_anomalies()
            .scan(now - t.window_ms, now, t)
            .await
            .expect("scan"),
    );
    assert_eq!(watched, vec![("clinician:wide".to_owned(), 8)]);
    assert_eq!(watched, scanned);

    // Once the window has moved past every access, nothing is counted: a
    // lower threshold in a later window finds no one.
    let later = now + 2 * t.window_ms;
    let alerts = anomalies
        .watch(&mut window, later, thresholds(1))
        .await
        .expect("watch");
    assert!(many(&alerts).is_empty(), "{alerts:?}");
}
