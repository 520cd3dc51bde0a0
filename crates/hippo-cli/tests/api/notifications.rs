//! Notifications (issue 11): a finding's release writes one outbox row in
//! its own transaction; the sender delivers it over real SMTP (aiosmtpd on
//! loopback) as a mail with no health data and the row's key as
//! Message-ID; outages, crashes and a second sender lose and repeat
//! nothing. Tests that need the SMTP server carry `smtp` in their name.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;
use hippo_core::finding::NewFinding;
use hippo_core::policy::Action;
use hippo_core::{FindingId, PatientId};
use hippo_server::notify::{NOTICE_SUBJECT, Sender, spawn};
use hippo_store::{Store, StoreOptions};
use reqwest::StatusCode;
use sqlx::{AnyPool, Row};

use crate::helpers::{
    NOTIFY_BASE_URL, PDF, ScopeActor, Session, SmtpSink, TestApp, login_subject, outbox_drained,
    test_app,
};

/// In every draft's title: must never reach a mail or the outbox.
const TITLE_MARK: &str = "Befundtitel-7fq2 Leberwerte";

/// `n` drafts for `patient`, uploaded through the clinician's scope, each
/// with values (Hämoglobin 18.9 g/dl) that must not reach a mail.
async fn drafts(app: &TestApp, patient: PatientId, n: usize) -> Vec<FindingId> {
    let clinician = ScopeActor::of(
        &app.store,
        login_subject(app, "a.keller").await,
        "notification-drafts",
    )
    .await;
    let new = NewFinding::parse_json(
        &serde_json::json!({
            "title": TITLE_MARK,
            "observations": [
                {"code": "718-7", "display": "Hämoglobin", "value": 18.9, "unit": "g/dl",
                 "reference_low": 12.0, "reference_high": 17.5}
            ]
        })
        .to_string(),
    )
    .unwrap();
    let mut ids = Vec::new();
    for _ in 0..n {
        let draft = clinician
            .acting(Action::FindingUpload)
            .upload_finding(patient, &new, PDF)
            .await
            .unwrap();
        ids.push(draft.id);
    }
    ids
}

/// Release over HTTP; a 503 (load shed before anything happened) is
/// retried, as a client would.
async fn release(app: &TestApp, session: &Session, id: FindingId) {
    for _ in 0..50 {
        let response = app
            .post_empty(&format!("/api/v1/findings/{id}/release"), session)
            .await;
        match response.status() {
            StatusCode::OK => return,
            StatusCode::SERVICE_UNAVAILABLE => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => panic!("release of {id}: {other}"),
        }
    }
    panic!("release of {id} shed 50 times");
}

/// Every outbox row: key → (recipient, state, attempts).
async fn outbox(db: &AnyPool) -> BTreeMap<String, (String, String, i64)> {
    sqlx::query("SELECT id, recipient, state, attempts FROM notification_outbox")
        .fetch_all(db)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get::<String, _>("id"),
                (r.get("recipient"), r.get("state"), r.get("attempts")),
            )
        })
        .collect()
}

/// The Message-ID a notification with outbox key `key` carries.
fn message_id(key: &str) -> String {
    let host = url::Url::parse(NOTIFY_BASE_URL).unwrap();
    format!("<{key}@{}>", host.host_str().unwrap())
}

/// Message-ID → how many times it was received.
fn received_by_id(sink: &SmtpSink) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for mail in sink.notices() {
        *seen.entry(mail.message_id).or_insert(0) += 1;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_a_release_sends_one_mail_with_a_login_link_and_no_health_data() {
    let sink = SmtpSink::start().await;
    let app = test_app()
        .configure(|c| c.notifications = Some(sink.notify_config()))
        .spawn()
        .await;
    let erika = app.user("erika.mustermann");
    let patient = app.user("a.keller").patient_ids[0];
    assert!(erika.patient_ids.contains(&patient));
    let ids = drafts(&app, patient, 2).await;
    let clinician = app.login("a.keller").await;

    release(&app, &clinician, ids[0]).await;
    outbox_drained(&app.db).await;
    let rows = outbox(&app.db).await;
    assert_eq!(rows.len(), 1, "one row per release");
    let (key, (recipient, state, attempts)) = rows.iter().next().unwrap();
    assert_eq!(
        (recipient.as_str(), state.as_str(), *attempts),
        (erika.email.as_str(), "sent", 1)
    );
    let mails = sink.notices();
    assert_eq!(mails.len(), 1, "exactly one mail");
    let mail = &mails[0];
    assert_eq!(mail.rcpt_tos, std::slice::from_ref(&erika.email));
    assert_eq!(mail.subject, NOTICE_SUBJECT);
    assert_eq!(mail.message_id, message_id(key), "Message-ID = outbox key");
    let login = format!("{NOTIFY_BASE_URL}login");
    assert!(mail.body.contains(&login), "{}", mail.body);
    assert!(mail.body.contains("Bitte melden Sie sich an") && mail.body.contains("Please log in"));
    // No health data, no names, not even the facility by default. The body
    // as read; the raw message as sent (headers, encoded body), whose
    // UUIDs and date are left out of the check for digits.
    let body = mail.body.to_lowercase();
    for secret in [
        TITLE_MARK,
        "Leberwerte",
        "moglobin",
        "718-7",
        "18.9",
        "g/dl",
        "Labor Nord",
        "Erika",
        "Mustermann",
        "1964",
        &patient.to_string(),
        &ids[0].to_string(),
    ] {
        assert!(
            !body.contains(&secret.to_lowercase()),
            "{secret:?} in the mail:\n{}",
            mail.body
        );
    }
    for secret in [
        TITLE_MARK,
        "Leberwerte",
        "moglobin",
        "g/dl",
        "Labor Nord",
        "Erika Mustermann",
    ] {
        assert!(
            !mail.raw.contains(secret),
            "{secret:?} in the mail:\n{}",
            mail.raw
        );
    }
    // The outbox row holds nothing of the finding either.
    let row = sqlx::query("SELECT * FROM notification_outbox")
        .fetch_one(&app.db)
        .await
        .unwrap();
    for column in [
        "id",
        "tenant_id",
        "patient_id",
        "recipient",
        "kind",
        "state",
    ] {
        let value: String = row.get(column);
        assert!(!value.contains(TITLE_MARK) && !value.contains(&ids[0].to_string()));
    }

    // With the tenant's setting on, the facility is named.
    let tenant = app.user("a.keller").tenant_id.unwrap();
    app.store
        .unscoped_provisioning()
        .set_notify_with_facility_name(tenant, true)
        .await
        .unwrap();
    release(&app, &clinician, ids[1]).await;
    outbox_drained(&app.db).await;
    let named: Vec<_> = sink
        .notices()
        .into_iter()
        .filter(|m| m.body.contains("Labor Nord"))
        .collect();
    assert_eq!(named.len(), 1, "the second mail names the facility");
    assert!(named[0].body.contains("von Labor Nord") && named[0].body.contains("from Labor Nord"));
    assert!(!named[0].body.contains(TITLE_MARK) && !named[0].body.contains("Hämoglobin"));
    assert_eq!(sink.notices().len(), 2);

    // Sent notifications are forgotten after their retention; `--days 0`
    // forgets all sent ones.
    let shown = app.hippo(&["outbox", "purge", "--days", "0"]);
    assert!(shown.contains("deleted 2"), "{shown}");
    assert!(outbox(&app.db).await.is_empty());
}

#[tokio::test]
async fn a_release_for_a_patient_without_account_writes_no_notification() {
    let app = test_app().spawn().await;
    let clinician = ScopeActor::of(
        &app.store,
        login_subject(&app, "a.keller").await,
        "no-account",
    )
    .await;
    let record = clinician
        .acting(Action::PatientCreate)
        .create_patient(&hippo_core::patient::NewPatient {
            given_name: "Ohne".into(),
            family_name: "Konto".into(),
            birth_date: hippo_core::patient::parse_birth_date("1970-01-01").unwrap(),
            decoy: false,
        })
        .await
        .unwrap();
    let ids = drafts(&app, record.id, 1).await;
    let session = app.login("a.keller").await;
    release(&app, &session, ids[0]).await;
    assert!(outbox(&app.db).await.is_empty());

    // A patient with an account gets one, in the same kind of release.
    let linked = app.user("a.keller").patient_ids[1];
    let ids = drafts(&app, linked, 1).await;
    release(&app, &session, ids[0]).await;
    let rows = outbox(&app.db).await;
    assert_eq!(rows.len(), 1);
    let (_, (recipient, state, _)) = rows.into_iter().next().unwrap();
    assert_eq!(recipient, app.user("max.schmidt").email);
    // No sender configured: it waits for one.
    assert_eq!(state, "pending");
}

#[tokio::test]
async fn a_release_that_rolls_back_leaves_no_notification() {
    let app = test_app().spawn().await;
    let patient = app.user("a.keller").patient_ids[0];
    let ids = drafts(&app, patient, 1).await;
    let session = app.login("a.keller").await;
    // The release's audit record fails inside its transaction: all of it
    // rolls back, the outbox row too.
    app.break_audit_log().await;
    let refused = app
        .post_empty(&format!("/api/v1/findings/{}/release", ids[0]), &session)
        .await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    app.repair_audit_log().await;
    assert!(
        outbox(&app.db).await.is_empty(),
        "a rolled-back release has no row"
    );
    let status: String = sqlx::query("SELECT status FROM findings WHERE id = $1")
        .bind(ids[0].to_string())
        .fetch_one(&app.db)
        .await
        .unwrap()
        .get("status");
    assert_eq!(status, "draft");
    // Committed: exactly one.
    release(&app, &session, ids[0]).await;
    assert_eq!(outbox(&app.db).await.len(), 1);
    // A second release is refused by the domain rule and adds none.
    let again = app
        .post_empty(&format!("/api/v1/findings/{}/release", ids[0]), &session)
        .await;
    assert!(again.status().is_client_error(), "{}", again.status());
    assert_eq!(outbox(&app.db).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_outage_in_the_middle_of_a_batch_loses_and_repeats_no_notification() {
    let mut sink = SmtpSink::start().await;
    // Released while no sender runs, so one batch claims all 30.
    let app = test_app().spawn().await;
    let patients = app.user("a.keller").patient_ids.clone();
    let session = app.login("a.keller").await;
    for (n, patient) in patients.iter().take(3).enumerate() {
        for id in drafts(&app, *patient, 10).await {
            release(&app, &session, id).await;
        }
        assert_eq!(outbox(&app.db).await.len(), (n + 1) * 10);
    }
    // The server stores 10 mails, refuses the next and goes away.
    sink.run(Some(10)).await;
    let mut config = sink.notify_config();
    config.batch = 32;
    let sender = spawn(Sender::new(app.store.unscoped_outbox(), config).unwrap());
    sink.wait_for_exit().await;
    assert_eq!(sink.notices().len(), 10, "10 delivered before the outage");
    // The sender records the 10 and meets the outage with the other 20:
    // their attempts fail and are rescheduled, again and again.
    let mut counts = (0, 0);
    for _ in 0..600 {
        let row = sqlx::query(
            "SELECT SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END) AS sent, \
             SUM(CASE WHEN state <> 'sent' AND last_error IS NOT NULL THEN 1 ELSE 0 END) AS failing \
             FROM notification_outbox",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        counts = (row.get::<i64, _>("sent"), row.get::<i64, _>("failing"));
        if counts == (10, 20) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        counts,
        (10, 20),
        "10 sent, 20 waiting for the server to return"
    );
    // The server is back on the same port.
    sink.run(None).await;
    outbox_drained(&app.db).await;
    sender.abort();

    let rows = outbox(&app.db).await;
    assert!(rows.values().all(|(_, state, _)| state == "sent"));
    assert!(
        rows.values().any(|(_, _, attempts)| *attempts > 1),
        "some were retried"
    );
    let received = received_by_id(&sink);
    let expected: BTreeSet<String> = rows.keys().map(|k| message_id(k)).collect();
    assert_eq!(
        received.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "none lost"
    );
    assert!(
        received.values().all(|&n| n == 1),
        "none twice: {received:?}"
    );
    assert_eq!(sink.notices().len(), 30);
}

/// A TCP server that accepts and never answers: an SMTP server that hangs.
async fn silent_server() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_a_sender_that_crashed_mid_send_is_taken_over_with_the_same_message_id() {
    let sink = SmtpSink::start().await;
    let app = test_app().spawn().await;
    let patient = app.user("a.keller").patient_ids[0];
    let ids = drafts(&app, patient, 1).await;
    let session = app.login("a.keller").await;
    release(&app, &session, ids[0]).await;
    let (key, _) = outbox(&app.db).await.into_iter().next().unwrap();

    // Sender A claims the notification, its SMTP server hangs, and A dies.
    let (hanging_port, hanging) = silent_server().await;
    let mut crashing = sink.notify_config();
    crashing.smtp_port = hanging_port;
    crashing.lease = std::time::Duration::from_secs(1);
    crashing.smtp_timeout = std::time::Duration::from_secs(60);
    let a = spawn(Sender::new(app.store.unscoped_outbox(), crashing).unwrap());
    for _ in 0..600 {
        if outbox(&app.db).await[&key].1 == "sending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(outbox(&app.db).await[&key].1, "sending");
    a.abort();
    hanging.abort();

    // Sender B (another instance) takes it over once the lease ran out:
    // outcome unknown, sent again under the same key.
    let mut config = sink.notify_config();
    config.lease = std::time::Duration::from_secs(1);
    let b = spawn(Sender::new(second_store(&app).await.unscoped_outbox(), config).unwrap());
    outbox_drained(&app.db).await;
    let (_, state, attempts) = outbox(&app.db).await[&key].clone();
    assert_eq!((state.as_str(), attempts), ("sent", 2));
    assert_eq!(
        received_by_id(&sink),
        BTreeMap::from([(message_id(&key), 1)])
    );

    // A crash after the server accepted the mail but before it was marked
    // sent: the row is left in `sending`. It is sent again, with the same
    // Message-ID, so the receiver can tell it is the same notification.
    sqlx::query(
        "UPDATE notification_outbox SET state = 'sending', claim_token = 'crashed', lease_until = 0 WHERE id = $1",
    )
    .bind(&key)
    .execute(&app.db)
    .await
    .unwrap();
    outbox_drained(&app.db).await;
    b.abort();
    assert_eq!(outbox(&app.db).await[&key].1, "sent");
    assert_eq!(
        received_by_id(&sink),
        BTreeMap::from([(message_id(&key), 2)]),
        "re-sent under the same Message-ID, never under a new one"
    );
}

/// Another store on the app's database: a second instance.
async fn second_store(app: &TestApp) -> Store {
    let url = app
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", app.dir.join("hippo.db").display()));
    let dir = tempfile::tempdir().unwrap();
    Store::open(&StoreOptions {
        database_url: Some(hippo_store::DatabaseUrl::new(url)),
        data_dir: dir.keep(),
        build: "test-build".into(),
        blob_url: None,
        blob_options: Default::default(),
        keys: None,
    })
    .await
    .unwrap()
}

/// 60 notifications, two senders on one database, small batches: each is
/// delivered exactly once.
async fn two_senders_share_one_outbox(app: TestApp) {
    let sink = SmtpSink::start().await;
    let patients = app.user("a.keller").patient_ids.clone();
    let session = app.login("a.keller").await;
    let mut releases = Vec::new();
    for patient in patients.iter().take(4) {
        releases.extend(drafts(&app, *patient, 15).await);
    }
    join_all(releases.iter().map(|id| release(&app, &session, *id))).await;
    assert_eq!(outbox(&app.db).await.len(), 60);
    let mut config = sink.notify_config();
    config.batch = 4;
    config.poll_every = std::time::Duration::from_millis(10);
    let other = second_store(&app).await;
    let senders = [
        spawn(Sender::new(app.store.unscoped_outbox(), config.clone()).unwrap()),
        spawn(Sender::new(other.unscoped_outbox(), config).unwrap()),
    ];
    outbox_drained(&app.db).await;
    for sender in senders {
        sender.abort();
    }
    let rows = outbox(&app.db).await;
    assert!(
        rows.values()
            .all(|(_, state, attempts)| state == "sent" && *attempts == 1)
    );
    let received = received_by_id(&sink);
    assert_eq!(received.len(), 60);
    assert!(received.values().all(|&n| n == 1), "{received:?}");
    let expected: BTreeSet<String> = rows.keys().map(|k| message_id(k)).collect();
    assert_eq!(received.keys().cloned().collect::<BTreeSet<_>>(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_two_senders_on_one_database_send_each_notification_once_on_sqlite() {
    two_senders_share_one_outbox(test_app().on_sqlite().spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_two_senders_on_one_postgresql_database_send_each_notification_once() {
    let database = crate::helpers::postgres_database().await;
    two_senders_share_one_outbox(test_app().on_database(database).spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_250_concurrent_releases_each_get_one_outbox_row_and_one_mail() {
    const RELEASES: usize = 250;
    let sink = SmtpSink::start().await;
    let app = test_app()
        .configure(|c| c.notifications = Some(sink.notify_config()))
        .spawn()
        .await;
    let patients = app.user("a.keller").patient_ids.clone();
    let mut planned: Vec<(FindingId, PatientId)> = Vec::new();
    for (n, patient) in patients.iter().enumerate() {
        let count = RELEASES / patients.len() + usize::from(n < RELEASES % patients.len());
        planned.extend(
            drafts(&app, *patient, count)
                .await
                .into_iter()
                .map(|id| (id, *patient)),
        );
    }
    assert_eq!(planned.len(), RELEASES);
    let session = app.login("a.keller").await;
    join_all(planned.iter().map(|(id, _)| release(&app, &session, *id))).await;
    outbox_drained(&app.db).await;

    // One row per release, per patient as many as that patient's releases.
    let per_patient: BTreeMap<String, i64> = sqlx::query(
        "SELECT patient_id, COUNT(*) AS n FROM notification_outbox GROUP BY patient_id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("patient_id"), r.get("n")))
    .collect();
    let mut planned_per_patient: BTreeMap<String, i64> = BTreeMap::new();
    for (_, patient) in &planned {
        *planned_per_patient.entry(patient.to_string()).or_insert(0) += 1;
    }
    assert_eq!(per_patient, planned_per_patient);
    let rows = outbox(&app.db).await;
    assert_eq!(rows.len(), RELEASES);
    let received = received_by_id(&sink);
    assert_eq!(received.len(), RELEASES, "one mail per release");
    assert!(received.values().all(|&n| n == 1));
    let expected: BTreeSet<String> = rows.keys().map(|k| message_id(k)).collect();
    assert_eq!(received.keys().cloned().collect::<BTreeSet<_>>(), expected);
    // Each mail went to its row's recipient.
    let mut per_recipient: BTreeMap<String, usize> = BTreeMap::new();
    for mail in sink.notices() {
        *per_recipient.entry(mail.to.clone()).or_insert(0) += 1;
    }
    let mut expected_per_recipient: BTreeMap<String, usize> = BTreeMap::new();
    for (recipient, _, _) in rows.values() {
        *expected_per_recipient.entry(recipient.clone()).or_insert(0) += 1;
    }
    assert_eq!(per_recipient, expected_per_recipient);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_hippo_serve_sends_the_notifications_its_config_file_names_on_sqlite() {
    let sink = SmtpSink::start().await;
    let app = test_app().on_sqlite().spawn().await;
    let patient = app.user("a.keller").patient_ids[0];
    let ids = drafts(&app, patient, 1).await;
    let session = app.login("a.keller").await;
    release(&app, &session, ids[0]).await;
    assert_eq!(outbox(&app.db).await.values().next().unwrap().1, "pending");
    let config = app.dir.join("hippo.toml");
    std::fs::write(
        &config,
        format!(
            "[notifications]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\nsmtp_security = \"plain\"\n\
             from = \"Hippo <noreply@hippo.test>\"\nbase_url = \"{NOTIFY_BASE_URL}\"\n",
            sink.port
        ),
    )
    .unwrap();
    let _serve =
        crate::helpers::ServeProcess::start(&app.dir, &["--config", config.to_str().unwrap()]);
    outbox_drained(&app.db).await;
    let mails = sink.notices();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].body.contains(&format!("{NOTIFY_BASE_URL}login")));
    assert_eq!(
        mails[0].rcpt_tos,
        std::slice::from_ref(&app.user("erika.mustermann").email)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_that_cannot_be_delivered_fails_for_good_and_operators_see_it_on_sqlite() {
    let app = test_app().on_sqlite().spawn().await;
    let patient = app.user("a.keller").patient_ids[0];
    let ids = drafts(&app, patient, 1).await;
    let session = app.login("a.keller").await;
    release(&app, &session, ids[0]).await;
    // Nothing listens on this port: every attempt fails at connect.
    let mut config = hippo_server::notify::NotifyConfig::new(
        "127.0.0.1",
        crate::helpers::free_port(),
        "Hippo <noreply@hippo.test>",
        url::Url::parse(NOTIFY_BASE_URL).unwrap(),
    );
    config.smtp_security = hippo_server::notify::SmtpSecurity::Plain;
    config.max_attempts = 3;
    config.backoff_base = std::time::Duration::from_millis(50);
    config.backoff_cap = std::time::Duration::from_millis(100);
    config.poll_every = std::time::Duration::from_millis(20);
    let sender = spawn(Sender::new(app.store.unscoped_outbox(), config).unwrap());
    outbox_drained(&app.db).await;
    sender.abort();
    let row = sqlx::query("SELECT state, attempts, last_error FROM notification_outbox")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("state"), "failed");
    assert_eq!(
        row.get::<i64, _>("attempts"),
        3,
        "gave up after the last attempt"
    );
    assert!(!row.get::<String, _>("last_error").is_empty());
    // The operator's view: one failed, exit code 2.
    let status = app
        .command()
        .args(["outbox", "status", "--data-dir"])
        .arg(&app.dir)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(2));
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        shown.contains("failed 1") && shown.contains("sent 0"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_a_starttls_sender_never_falls_back_to_plain_text() {
    // The test server offers no STARTTLS: a sender that requires it sends
    // nothing (no downgrade), retries, and gives up visibly.
    let sink = SmtpSink::start().await;
    let app = test_app().spawn().await;
    let patient = app.user("a.keller").patient_ids[0];
    let ids = drafts(&app, patient, 1).await;
    let session = app.login("a.keller").await;
    release(&app, &session, ids[0]).await;
    let mut config = sink.notify_config();
    config.smtp_security = hippo_server::notify::SmtpSecurity::StartTls;
    config.max_attempts = 2;
    let sender = spawn(Sender::new(app.store.unscoped_outbox(), config).unwrap());
    outbox_drained(&app.db).await;
    sender.abort();
    let row = sqlx::query("SELECT state, last_error FROM notification_outbox")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("state"), "failed");
    let error = row.get::<String, _>("last_error").to_lowercase();
    assert!(
        error.contains("starttls") || error.contains("tls"),
        "{error}"
    );
    assert!(sink.mails().is_empty(), "nothing went out unencrypted");
    // A TLS-from-the-first-byte sender sets up too (rustls, aws-lc-rs,
    // the platform's roots).
    let mut config = sink.notify_config();
    config.smtp_security = hippo_server::notify::SmtpSecurity::Tls;
    assert!(Sender::new(app.store.unscoped_outbox(), config).is_ok());
}

/// In the subject and every body of the conversation: must never reach a
/// mail or the outbox.
const MESSAGE_MARK: &str = "Nachricht-9kz3 Ihre Leberwerte sind erhöht";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_staff_messages_notify_the_patient_without_content_and_patient_messages_notify_nobody()
{
    let sink = SmtpSink::start().await;
    let app = test_app()
        .configure(|c| c.notifications = Some(sink.notify_config()))
        .spawn()
        .await;
    // The demo's seeded conversations are news to nobody.
    assert!(
        outbox(&app.db).await.is_empty(),
        "seeding left notifications"
    );
    let erika = app.user("erika.mustermann");
    let patient = app.user("a.keller").patient_ids[0];
    assert!(erika.patient_ids.contains(&patient));
    let clinician = app.login("a.keller").await;
    let erika_session = app.login("erika.mustermann").await;

    // Staff start a thread: one notification.
    let started = app
        .post_json(
            "/api/v1/threads",
            &clinician,
            &serde_json::json!({"subject": MESSAGE_MARK, "body": MESSAGE_MARK,
                "patient_id": patient.to_string()}),
        )
        .await;
    assert_eq!(started.status(), StatusCode::CREATED);
    let thread = started.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The patient answers: nobody is mailed. Staff answer: one more.
    for (session, expect_rows) in [(&erika_session, 1), (&clinician, 2)] {
        let posted = app
            .post_json(
                &format!("/api/v1/threads/{thread}/messages"),
                session,
                &serde_json::json!({"body": MESSAGE_MARK}),
            )
            .await;
        assert_eq!(posted.status(), StatusCode::CREATED);
        assert_eq!(outbox(&app.db).await.len(), expect_rows);
    }
    // A refused post (empty body) writes no notification.
    let refused = app
        .post_json(
            &format!("/api/v1/threads/{thread}/messages"),
            &clinician,
            &serde_json::json!({"body": ""}),
        )
        .await;
    assert!(refused.status().is_client_error());
    assert_eq!(outbox(&app.db).await.len(), 2);

    outbox_drained(&app.db).await;
    let mails = sink.notices();
    assert_eq!(mails.len(), 2, "one mail per staff message");
    let kinds: BTreeSet<String> = sqlx::query("SELECT kind FROM notification_outbox")
        .fetch_all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("kind"))
        .collect();
    assert_eq!(kinds, BTreeSet::from(["new_message".to_owned()]));
    for mail in &mails {
        assert_eq!(mail.rcpt_tos, std::slice::from_ref(&erika.email));
        assert_eq!(mail.subject, NOTICE_SUBJECT);
        for secret in ["Nachricht-9kz3", "Leberwerte", "Labor Nord", "Erika"] {
            assert!(!mail.raw.contains(secret), "{secret:?} in:\n{}", mail.raw);
        }
    }
}
