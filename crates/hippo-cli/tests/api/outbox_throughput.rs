//! Issue 11, point 7: how many notifications a second the sender delivers
//! to a real SMTP server on loopback (aiosmtpd with `smtp_sink.py`, which
//! fsyncs every mail before its 250, as an MTA must). A measurement, so
//! ignored in the suite; `docs/BENCHMARKS.md` has the command. It still
//! checks what it measures: every notification delivered exactly once.
//!
//! The outbox is filled with rows exactly as a release writes them (one
//! INSERT per row would measure the releases, which have their own
//! benchmarks), then one sender drains it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use hippo_server::notify::{Sender, spawn};
use sqlx::Row;

use crate::helpers::{SmtpSink, TestApp, outbox_drained, test_app};

async fn fill_outbox(app: &TestApp, count: usize) {
    let erika = app.user("erika.mustermann");
    let tenant = app.user("a.keller").tenant_id.unwrap().to_string();
    let patient = app.user("a.keller").patient_ids[0].to_string();
    assert!(erika.patient_ids.iter().any(|p| p.to_string() == patient));
    let now = hippo_core::time_util::now_millis();
    let mut tx = app.db.begin().await.unwrap();
    for _ in 0..count {
        sqlx::query(
            "INSERT INTO notification_outbox (id, tenant_id, patient_id, recipient, kind, state, \
             attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'finding_released', 'pending', 0, $5, $5)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&tenant)
        .bind(&patient)
        .bind(&erika.email)
        .bind(now)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run it by name (docs/BENCHMARKS.md, issue 11)"]
async fn smtp_outbox_throughput() {
    let count: usize = std::env::var("HIPPO_BENCH_NOTIFICATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let app = test_app().spawn().await;
    let backend = if app.database_url.is_some() {
        "postgresql"
    } else {
        "sqlite"
    };
    let fsync = std::env::var("SMTP_SINK_FSYNC").as_deref() != Ok("0");
    for (batch, concurrency) in [(32u32, 1usize), (32, 4), (128, 8), (128, 16)] {
        sqlx::query("DELETE FROM notification_outbox")
            .execute(&app.db)
            .await
            .unwrap();
        fill_outbox(&app, count).await;
        let sink = SmtpSink::start().await;
        let mut config = sink.notify_config();
        config.batch = batch;
        config.concurrency = concurrency;
        config.poll_every = Duration::from_millis(10);
        let started = Instant::now();
        let sender = spawn(Sender::new(app.store.unscoped_outbox(), config).unwrap());
        outbox_drained(&app.db).await;
        let elapsed = started.elapsed();
        sender.abort();
        let mails = sink.mails();
        let ids: BTreeSet<String> = mails.iter().map(|m| m.message_id.clone()).collect();
        assert_eq!(
            (mails.len(), ids.len()),
            (count, count),
            "each exactly once"
        );
        let sent: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM notification_outbox WHERE state = 'sent'")
                .fetch_one(&app.db)
                .await
                .unwrap()
                .get("n");
        assert_eq!(sent as usize, count);
        println!(
            "outbox throughput ({backend}, sink fsync {fsync}): batch {batch:>3}, concurrency {concurrency:>2}: \
             {count} notifications in {:.2} s = {:.0} mails/s",
            elapsed.as_secs_f64(),
            count as f64 / elapsed.as_secs_f64()
        );
    }
}
