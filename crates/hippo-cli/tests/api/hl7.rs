//! Issue 13 point 1: HL7 v2 ORU^R01 intake over HTTP, MLLP and the CLI.
//! Fixtures (`fixtures/hl7/`) are realistic messages about synthetic
//! patients: 2.3 in 8859/1, 2.5.1 in UTF-8 with escapes and several OBX
//! types and OBRs, 2.4 with the lab's own PDF, and malformed ones. Every
//! refusal names its reason and leaves every table as it was.

use std::net::SocketAddr;
use std::time::Duration;

use hippo_core::patient::UnmatchedPatient;
use hippo_core::policy::Action;
use hippo_server::auth::token::{hash_token, new_api_key};
use hippo_server::config::MllpConfig;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{PDF, ScopeActor, TestApp, login_subject, spawn_app, test_app};

const ER7: &str = "x-application/hl7-v2+er7";

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/api/fixtures/hl7/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The authorisation matrix's body: a fresh control ID each time, one
/// patient matched (or created once) by identifier in the caller's tenant.
pub fn matrix_message() -> Vec<u8> {
    oru(
        &uuid::Uuid::new_v4().simple().to_string(),
        "MATRIX-1",
        "Siebenmatrix^Hanne",
        "19800506",
    )
}

/// A small, valid ORU^R01 (2.5.1, UTF-8).
fn oru(control_id: &str, identifier: &str, name: &str, birth: &str) -> Vec<u8> {
    format!(
        "MSH|^~\\&|LIS|Labor|HIPPO|Hippo|20261201083000||ORU^R01^ORU_R01|{control_id}|P|2.5.1||||||UNICODE UTF-8\r\
         PID|1||{identifier}^^^LABNORD^MR||{name}||{birth}|F\r\
         OBR|1|A-{control_id}|F-{control_id}|58410-2^Blutbild^LN|||202612010815\r\
         OBX|1|NM|718-7^Hämoglobin^LN||13,9|g/dl|12-16|N|||F\r"
    )
    .into_bytes()
}

/// A lab-system key of the tenant whose admin this is.
async fn lab_key(app: &TestApp, admin: &str) -> String {
    let key = new_api_key().expose_secret().to_owned();
    ScopeActor::of(&app.store, login_subject(app, admin).await, "hl7-setup")
        .await
        .acting(Action::ApiKeyCreate)
        .create_api_key("hl7 lab", &hash_token(&key))
        .await
        .unwrap();
    key
}

async fn post_oru(app: &TestApp, key: &str, body: Vec<u8>) -> (StatusCode, String) {
    let response = app
        .client
        .post(format!("{}/api/v1/hl7/oru", app.url))
        .bearer_auth(key)
        .header("content-type", ER7)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    if status.is_success() || status == 400 || status == 422 {
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            ER7,
            "an ACK answers as ER7"
        );
    }
    (status, response.text().await.unwrap())
}

/// MSA-1, MSA-2 and MSA-3 (escapes decoded) of an ACK.
fn msa(ack: &str) -> (String, String, String) {
    let msa = ack
        .split('\r')
        .find(|s| s.starts_with("MSA|"))
        .unwrap_or_else(|| panic!("no MSA in {ack:?}"));
    let f: Vec<&str> = msa.split('|').collect();
    let get = |i: usize| {
        hippo_hl7::escape::unescape(
            f.get(i).copied().unwrap_or_default(),
            &hippo_hl7::escape::default_separators(),
            hippo_hl7::Charset::Utf8,
        )
        .unwrap()
    };
    (get(1), get(2), get(3))
}

/// Rows of every table an intake writes.
async fn rows(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "patients",
        "findings",
        "observations",
        "blobs",
        "patient_identifiers",
        "hl7_messages",
    ] {
        counts.push(app.count(&format!("SELECT COUNT(*) FROM {table}")).await);
    }
    counts
}

async fn clinician_findings(app: &TestApp, patient: &str) -> Vec<Value> {
    let clinician = app.login("a.keller").await;
    let listed = app
        .get_json(&format!("/api/v1/patients/{patient}/findings"), &clinician)
        .await;
    let mut findings = Vec::new();
    for f in listed["findings"].as_array().unwrap_or(&Vec::new()) {
        let id = f["id"].as_str().unwrap();
        findings.push(
            app.get_json(&format!("/api/v1/findings/{id}"), &clinician)
                .await,
        );
    }
    findings
}

fn mllp_app_config(config: &mut hippo_server::ServerConfig) {
    config.hl7.mllp = Some(MllpConfig::new("127.0.0.1:0".parse().unwrap()));
}

/// Send frames on one connection, one ACK read after each.
async fn mllp_exchange(addr: SocketAddr, messages: &[Vec<u8>]) -> Vec<String> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut acks = Vec::new();
    for message in messages {
        stream
            .write_all(&hippo_hl7::mllp::frame(message))
            .await
            .unwrap();
        acks.push(read_frame(&mut stream).await.expect("an ACK"));
    }
    acks
}

async fn read_frame(stream: &mut TcpStream) -> Option<String> {
    let mut decoder = hippo_hl7::mllp::FrameDecoder::new(1 << 20);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(frame) = decoder.next_frame().unwrap() {
            return Some(String::from_utf8(frame).unwrap());
        }
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut chunk))
            .await
            .expect("an answer within 30 s")
            .unwrap();
        if n == 0 {
            return None;
        }
        decoder.push(&chunk[..n]).unwrap();
    }
}

fn with_security(message: &[u8], key: &str) -> Vec<u8> {
    // MSH-8 is empty in the fixtures: `…|MSH-7||ORU^R01` gets the key.
    let text = String::from_utf8_lossy(message).into_owned();
    let at = text.find("||ORU^R01").expect("an ORU fixture");
    let mut out = message[..at + 1].to_vec();
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&message[at + 1..]);
    out
}

#[tokio::test]
async fn hl7_fixtures_are_mapped_onto_findings() {
    let app = spawn_app().await;
    let key = lab_key(&app, "admin@labor-nord").await;
    let max = app.user("max.schmidt").patient_ids[0].to_string();
    let sophie = app.user("sophie.wagner").patient_ids[0].to_string();
    let patients_before = app.count("SELECT COUNT(*) FROM patients").await;

    // 2.5.1 UTF-8: Max Schmidt matched by name and birth date, two OBRs.
    let (status, ack) = post_oru(&app, &key, fixture("oru_v251_utf8.hl7")).await;
    assert_eq!(status, StatusCode::OK, "{ack}");
    let (code, control, text) = msa(&ack);
    assert_eq!((code.as_str(), control.as_str()), ("AA", "V251-UTF8-0001"));
    assert!(text.contains("2 finding"), "{text}");
    assert!(
        ack.contains("|2.5.1|"),
        "the ACK is in the request's version: {ack}"
    );
    let findings = clinician_findings(&app, &max).await;
    let lipids = findings
        .iter()
        .find(|f| f["title"] == "Lipidprofil")
        .expect("one finding per OBR");
    assert_eq!(lipids["status"], "draft");
    let obs = lipids["observations"].as_array().unwrap();
    assert_eq!(obs[0]["value"], json!(243.0));
    assert_eq!(obs[0]["flag"], "H");
    assert_eq!(obs[0]["reference_high"], json!(200.0));
    assert_eq!(obs[1]["flag"], "L");
    assert_eq!(obs[1]["reference_low"], json!(40.0));
    assert_eq!(
        obs[3]["value"],
        "Nüchtern & ohne Medikation Kontrolle in 3 Monaten empfohlen (Wert | Ziel)"
    );
    let pcr = findings
        .iter()
        .find(|f| f["title"] == "SARS-CoV-2 PCR")
        .unwrap();
    assert_eq!(pcr["observations"][0]["value"], "negativ");
    // The identifier is learnt: no patient was created for Max.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM patients").await,
        patients_before
    );

    // 2.3 in 8859/1: a new patient, umlauts decoded, HH/LL onto H/L.
    let (status, ack) = post_oru(&app, &key, fixture("oru_v23_latin1.hl7")).await;
    assert_eq!(status, StatusCode::OK, "{ack}");
    assert!(ack.contains("|ACK|") && ack.contains("|2.3|"), "{ack}");
    let created: String = sqlx::query_scalar(
        "SELECT id FROM patients WHERE family_name = 'Müller-Lüdenscheid' AND given_name = 'Jörg' AND birth_date = '1964-02-29'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let blood = &clinician_findings(&app, &created).await[0];
    assert_eq!(blood["title"], "Großes Blutbild");
    let flags: Vec<&str> = blood["observations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["flag"].as_str().unwrap())
        .collect();
    assert_eq!(flags, ["H", "L", "N", "H", "N"]);
    assert_eq!(blood["observations"][0]["value"], json!(18.9));
    assert_eq!(blood["observations"][0]["display"], "Hämoglobin");

    // 2.4 with the lab's own PDF: the finding's PDF is that document.
    let (status, ack) = post_oru(&app, &key, fixture("oru_v24_ed_pdf.hl7")).await;
    assert_eq!(status, StatusCode::OK, "{ack}");
    let report = &clinician_findings(&app, &sophie).await[0];
    let id = report["id"].as_str().unwrap();
    let clinician = app.login("a.keller").await;
    let pdf = app
        .get(&format!("/api/v1/findings/{id}/pdf"), &clinician)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(&pdf[..], PDF);
    // Without an ED the report is drawn from the values, a real PDF.
    let lipids_pdf = app
        .get(
            &format!("/api/v1/findings/{}/pdf", lipids["id"].as_str().unwrap()),
            &clinician,
        )
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        hippo_core::file_kind::classify(&lipids_pdf),
        Ok(hippo_core::file_kind::FileKind::Pdf)
    );
    // Audited like the JSON upload: one success per finding.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_records WHERE action = 'hl7_intake' AND outcome = 'success' AND resource_kind = 'finding'")
            .await,
        4
    );
}

#[tokio::test]
async fn malformed_hl7_is_refused_with_a_reason_and_changes_nothing() {
    let app = test_app()
        .configure(|c| {
            c.hl7.unmatched = UnmatchedPatient::Reject;
            c.hl7.max_message_bytes = 64 * 1024;
            mllp_app_config(c);
        })
        .spawn()
        .await;
    let key = lab_key(&app, "admin@labor-nord").await;
    let before = rows(&app).await;
    let cases: [(&str, StatusCode, &str, &str); 5] = [
        ("no_msh.hl7", StatusCode::BAD_REQUEST, "AR", "MSH"),
        ("adt_a01.hl7", StatusCode::BAD_REQUEST, "AR", "ORU^R01"),
        (
            "unknown_charset.hl7",
            StatusCode::BAD_REQUEST,
            "AR",
            "MSH-18",
        ),
        (
            "bad_base64.hl7",
            StatusCode::UNPROCESSABLE_ENTITY,
            "AE",
            "Base64",
        ),
        (
            "unknown_patient.hl7",
            StatusCode::UNPROCESSABLE_ENTITY,
            "AE",
            "no patient",
        ),
    ];
    for (name, status, code, reason) in cases {
        let (got, ack) = post_oru(&app, &key, fixture(name)).await;
        assert_eq!(got, status, "{name}: {ack}");
        let (got_code, _, text) = msa(&ack);
        assert_eq!(got_code, code, "{name}: {ack}");
        assert!(
            text.contains(reason),
            "{name}: {text:?} should name {reason:?}"
        );
        assert!(
            ack.contains("\rERR|"),
            "{name}: a refusal carries ERR: {ack}"
        );
        assert_eq!(rows(&app).await, before, "{name} changed rows");
    }
    // The control ID of a message that could be read comes back in MSA-2.
    let (_, ack) = post_oru(&app, &key, fixture("adt_a01.hl7")).await;
    assert_eq!(msa(&ack).1, "ADT-0001");
    // The unmatched patient's refusal is recorded, without the message.
    assert!(
        app.count("SELECT COUNT(*) FROM audit_records WHERE action = 'hl7_intake' AND outcome = 'rejected'")
            .await
            >= 1
    );

    // Over MLLP: the same answers, and an oversize frame is refused and
    // the connection closed.
    let addr = app.mllp_addr.unwrap();
    let acks = mllp_exchange(
        addr,
        &[with_security(&fixture("unknown_charset.hl7"), &key)],
    )
    .await;
    assert_eq!(msa(&acks[0]).0, "AR");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut huge = vec![hippo_hl7::mllp::START];
    huge.extend(with_security(&fixture("oru_v251_utf8.hl7"), &key));
    huge.extend(std::iter::repeat_n(b'x', 70 * 1024));
    let _ = stream.write_all(&huge).await;
    let ack = read_frame(&mut stream)
        .await
        .expect("a NACK before closing");
    let (code, _, text) = msa(&ack);
    assert_eq!(code, "AR");
    assert!(text.contains("larger than"), "{text}");
    assert_eq!(read_frame(&mut stream).await, None, "closed after the NACK");
    assert_eq!(rows(&app).await, before);
}

#[tokio::test]
async fn a_resent_message_is_acknowledged_and_stored_once() {
    let app = spawn_app().await;
    let key = lab_key(&app, "admin@labor-nord").await;
    let message = oru("RESEND-1", "R-1", "Resend^Rita", "19700101");
    let (status, first) = post_oru(&app, &key, message.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let after_first = rows(&app).await;
    let (status, again) = post_oru(&app, &key, message).await;
    assert_eq!(status, StatusCode::OK);
    let (code, control, text) = msa(&again);
    assert_eq!((code.as_str(), control.as_str()), ("AA", "RESEND-1"));
    assert!(text.contains("duplicate"), "{text}");
    assert_eq!(rows(&app).await, after_first);
    // Another tenant's lab may use the same control ID: its own namespace.
    let other = lab_key(&app, "admin@testzentrum-hafen").await;
    let (status, ack) = post_oru(
        &app,
        &other,
        oru("RESEND-1", "R-1", "Resend^Rita", "19700101"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!msa(&ack).2.contains("duplicate"), "{ack}");
}

#[tokio::test]
async fn hl7_intake_never_crosses_tenants() {
    let app = test_app()
        .configure(|c| c.hl7.unmatched = UnmatchedPatient::Reject)
        .spawn()
        .await;
    let lab_a = lab_key(&app, "admin@labor-nord").await;
    let lab_b = lab_key(&app, "admin@testzentrum-hafen").await;
    let leon = app.user("leon.hoffmann").patient_ids[0].to_string();
    // Tenant B's lab teaches B's record of Leon an identifier.
    let (status, ack) = post_oru(
        &app,
        &lab_b,
        oru("B-1", "HAFEN-777", "Hoffmann^Leon", "20010117"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ack}");
    let leon_findings = app
        .count(&format!(
            "SELECT COUNT(*) FROM findings WHERE patient_id = '{leon}'"
        ))
        .await;
    // Tenant A's lab, with B's identifier and Leon's name and birth date,
    // finds nobody (Leon is no patient of A) and, rejecting, stores nothing.
    let before = rows(&app).await;
    let (status, ack) = post_oru(
        &app,
        &lab_a,
        oru("A-1", "HAFEN-777", "Hoffmann^Leon", "20010117"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{ack}");
    assert!(msa(&ack).2.contains("no patient"), "{ack}");
    assert_eq!(rows(&app).await, before);
    // Even the identifier's own authority and B's record ID do not help.
    let (status, _) = post_oru(&app, &lab_a, oru("A-2", &leon, "Hoffmann^Leon", "20010117")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rows(&app).await, before);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM findings WHERE patient_id = '{leon}'"
        ))
        .await,
        leon_findings
    );
}

#[tokio::test]
async fn creating_patients_stays_inside_the_own_tenant() {
    let app = spawn_app().await;
    let lab_a = lab_key(&app, "admin@labor-nord").await;
    let lab_b = lab_key(&app, "admin@testzentrum-hafen").await;
    let (tenant_a, tenant_b) = (app.world.tenants[0].id, app.world.tenants[1].id);
    let (status, _) = post_oru(
        &app,
        &lab_b,
        oru("B-9", "HAFEN-9", "Hoffmann^Leon", "20010117"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = post_oru(
        &app,
        &lab_a,
        oru("A-9", "HAFEN-9", "Hoffmann^Leon", "20010117"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // A's message made a record in A; B's Leon got only B's finding.
    let in_a = app
        .count(&format!("SELECT COUNT(*) FROM patients WHERE tenant_id = '{tenant_a}' AND family_name = 'Hoffmann'"))
        .await;
    assert_eq!(in_a, 1);
    let leon = app.user("leon.hoffmann").patient_ids[0].to_string();
    let leon_by_a = app
        .count(&format!("SELECT COUNT(*) FROM findings WHERE patient_id = '{leon}' AND tenant_id <> '{tenant_b}'"))
        .await;
    assert_eq!(leon_by_a, 0);
}

/// Many intakes at once over HTTP, each a group of its own, all naming one
/// patient the facility does not know yet: the patient is created once and
/// every finding is stored for that record. On PostgreSQL the groups race
/// for the new identifier; a group that loses is rolled back and stored
/// message by message, and finds the winner's record.
#[tokio::test]
async fn concurrent_intakes_of_one_new_patient_create_it_once() {
    let app = spawn_app().await;
    let key = lab_key(&app, "admin@labor-nord").await;
    let tenant = app.world.tenants[0].id;
    let answers = futures_util::future::join_all((0..120).map(|n| {
        post_oru(
            &app,
            &key,
            oru(&format!("RACE-{n}"), "RACE-1", "Rennen^Rosa", "19750303"),
        )
    }))
    .await;
    for (status, ack) in &answers {
        assert_eq!(*status, StatusCode::OK, "{ack}");
        assert_eq!(msa(ack).0, "AA", "{ack}");
    }
    let created = app
        .count(&format!(
            "SELECT COUNT(*) FROM patients WHERE tenant_id = '{tenant}' AND family_name = 'Rennen'"
        ))
        .await;
    assert_eq!(created, 1);
    let owners = app
        .count(&format!(
            "SELECT COUNT(DISTINCT f.patient_id) FROM findings f JOIN hl7_messages m \
             ON m.tenant_id = f.tenant_id AND m.patient_id = f.patient_id \
             WHERE m.tenant_id = '{tenant}' AND m.control_id LIKE 'RACE-%'"
        ))
        .await;
    assert_eq!(owners, 1);
    let stored = app
        .count(&format!(
            "SELECT COUNT(*) FROM findings f JOIN patients p ON p.id = f.patient_id \
             WHERE p.tenant_id = '{tenant}' AND p.family_name = 'Rennen'"
        ))
        .await;
    assert_eq!(stored, 120);
    let identifiers = app
        .count(&format!(
            "SELECT COUNT(*) FROM patient_identifiers WHERE tenant_id = '{tenant}' AND value = 'RACE-1'"
        ))
        .await;
    assert_eq!(identifiers, 1);
}

#[tokio::test]
async fn patients_read_an_imported_finding_only_after_release() {
    let app = spawn_app().await;
    let key = lab_key(&app, "admin@labor-nord").await;
    let (status, ack) = post_oru(
        &app,
        &key,
        oru("REL-1", "LN-200001", "Schmidt^Max", "19780302"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ack}");
    let max_record = app.user("max.schmidt").patient_ids[0].to_string();
    let id: String = sqlx::query_scalar(
        "SELECT f.id FROM findings f JOIN hl7_messages m ON m.patient_id = f.patient_id \
         WHERE m.control_id = 'REL-1' AND f.patient_id = $1 AND f.status = 'draft'",
    )
    .bind(&max_record)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let max = app.login("max.schmidt").await;
    let sophie = app.login("sophie.wagner").await;
    let path = format!("/api/v1/findings/{id}");
    assert_eq!(app.get(&path, &max).await.status(), StatusCode::NOT_FOUND);
    let clinician = app.login("a.keller").await;
    let released = app
        .post_empty(&format!("/api/v1/findings/{id}/release"), &clinician)
        .await;
    assert_eq!(released.status(), StatusCode::OK);
    assert_eq!(app.get(&path, &max).await.status(), StatusCode::OK);
    assert_eq!(
        app.get(&path, &sophie).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("{path}/pdf"), &sophie).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn mllp_refuses_a_bad_key_audits_it_and_closes() {
    let app = test_app().configure(mllp_app_config).spawn().await;
    let addr = app.mllp_addr.unwrap();
    let before = rows(&app).await;
    for key in [
        "",
        "hippo_lab_wrong",
        &format!("hippo_lab_{}", "a".repeat(64)),
    ] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let message = if key.is_empty() {
            fixture("oru_v251_utf8.hl7")
        } else {
            with_security(&fixture("oru_v251_utf8.hl7"), key)
        };
        stream
            .write_all(&hippo_hl7::mllp::frame(&message))
            .await
            .unwrap();
        let ack = read_frame(&mut stream).await.unwrap();
        let (code, control, text) = msa(&ack);
        assert_eq!((code.as_str(), control.as_str()), ("AR", "V251-UTF8-0001"));
        assert!(text.contains("API key"), "{text}");
        assert_eq!(read_frame(&mut stream).await, None, "closed");
    }
    assert_eq!(rows(&app).await, before);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_records WHERE action = 'hl7_intake' AND outcome = 'denied' AND actor_kind = 'anonymous'")
            .await,
        3
    );
}

#[tokio::test]
async fn mllp_bound_to_one_key_needs_none_in_the_message() {
    let key = new_api_key();
    let bound = key.clone();
    let app = test_app()
        .configure(move |c| {
            let mut mllp = MllpConfig::new("127.0.0.1:0".parse().unwrap());
            mllp.api_key = Some(bound);
            c.hl7.mllp = Some(mllp);
        })
        .spawn()
        .await;
    ScopeActor::of(
        &app.store,
        login_subject(&app, "admin@labor-nord").await,
        "hl7-setup",
    )
    .await
    .acting(Action::ApiKeyCreate)
    .create_api_key("bound lab", &hash_token(key.expose_secret()))
    .await
    .unwrap();
    let acks = mllp_exchange(
        app.mllp_addr.unwrap(),
        &[fixture("oru_v251_utf8.hl7"), fixture("oru_v24_ed_pdf.hl7")],
    )
    .await;
    for ack in &acks {
        assert_eq!(msa(ack).0, "AA", "{ack}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM hl7_messages").await, 2);
}

/// Hundreds of messages over many connections at once (bounded by
/// count): every one acknowledged AA, exactly that many findings, no
/// duplicate patients.
#[tokio::test]
async fn many_concurrent_mllp_connections_are_all_acknowledged() {
    const CONNECTIONS: usize = 24;
    const PER_CONNECTION: usize = 13;
    const PATIENTS: usize = 8;
    let app = test_app().configure(mllp_app_config).spawn().await;
    let key = lab_key(&app, "admin@labor-nord").await;
    let addr = app.mllp_addr.unwrap();
    let findings_before = app.count("SELECT COUNT(*) FROM findings").await;
    let patients_before = app.count("SELECT COUNT(*) FROM patients").await;
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let messages: Vec<Vec<u8>> = (0..PER_CONNECTION)
                .map(|m| {
                    let p = (c * PER_CONNECTION + m) % PATIENTS;
                    with_security(
                        &oru(
                            &format!("LOAD-{c}-{m}"),
                            &format!("LOAD-P{p}"),
                            &format!("Last{p}^Load"),
                            "19900101",
                        ),
                        &key,
                    )
                })
                .collect();
            let mut accepted = 0;
            let mut busy = Vec::new();
            let acks = mllp_exchange(addr, &messages).await;
            for (ack, message) in acks.iter().zip(&messages) {
                match msa(ack) {
                    (code, _, _) if code == "AA" => accepted += 1,
                    (_, _, text) if text.contains("busy") => busy.push(message.clone()),
                    other => panic!("unexpected answer {other:?}"),
                }
            }
            // Back-pressure answers AR "busy": the sender retries.
            for message in busy {
                for _ in 0..50 {
                    let ack = &mllp_exchange(addr, std::slice::from_ref(&message)).await[0];
                    if msa(ack).0 == "AA" {
                        accepted += 1;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            accepted
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        accepted += task.await.unwrap();
    }
    let total = CONNECTIONS * PER_CONNECTION;
    assert_eq!(accepted, total);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM findings").await - findings_before,
        total as i64
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM hl7_messages").await,
        total as i64
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM patients").await - patients_before,
        PATIENTS as i64
    );
}

#[tokio::test]
async fn hippo_import_hl7_sends_batch_files_and_reports_refusals() {
    let app = spawn_app().await;
    let key = lab_key(&app, "admin@labor-nord").await;
    let key_file = app.dir.join("lab.key");
    std::fs::write(&key_file, &key).unwrap();
    let dir = format!("{}/tests/api/fixtures/hl7", env!("CARGO_MANIFEST_DIR"));
    // The server runs on this test's runtime: the binary waits elsewhere.
    let run = |mut command: std::process::Command| async move {
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    };
    let mut command = app.command();
    command
        .args(["import", "hl7", "--url", &app.url, "--api-key-file"])
        .arg(&key_file)
        .arg(format!("{dir}/batch.hl7"))
        .arg(format!("{dir}/oru_v251_utf8.hl7"));
    let out = run(command).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "one message is refused: {stdout}{stderr}"
    );
    assert!(
        stdout.contains("accepted: 3, rejected: 1"),
        "{stdout}{stderr}"
    );
    assert!(stdout.contains("batch.hl7#3: AR"), "{stdout}");
    assert!(
        stderr.contains("HL7 messages"),
        "progress on stderr: {stderr}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM hl7_messages").await, 3);
    // Everything accepted: exit code zero.
    let mut command = app.command();
    command
        .args(["import", "hl7", "--url", &app.url, "--api-key-file"])
        .arg(&key_file)
        .arg(format!("{dir}/oru_v24_ed_pdf.hl7"));
    let out = run(command).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// python-hl7's MLLP client (PyPI, not written for Hippo) sends the
/// fixtures; python-hl7 parses Hippo's ACKs.
#[tokio::test]
async fn interop_python_hl7_mllp_client_gets_parsed_acks() {
    let Some(python) = std::env::var_os("HIPPO_TEST_INTEROP_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "HIPPO_TEST_INTEROP_PYTHON must name the interop venv's python3 under CI"
        );
        println!("skipped: HIPPO_TEST_INTEROP_PYTHON is not set (scripts/test sets it)");
        return;
    };
    let app = test_app().configure(mllp_app_config).spawn().await;
    let key = lab_key(&app, "admin@labor-nord").await;
    let addr = app.mllp_addr.unwrap();
    let dir = app.dir.join("hl7-out");
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for name in [
        "oru_v251_utf8.hl7",
        "oru_v23_latin1.hl7",
        "oru_v24_ed_pdf.hl7",
        "adt_a01.hl7",
    ] {
        let raw = fixture(name);
        let message = if name.starts_with("oru") {
            with_security(&raw, &key)
        } else {
            raw
        };
        let path = dir.join(name);
        std::fs::write(&path, &message).unwrap();
        files.push(path);
    }
    let script = r#"
import json, sys
import hl7
from hl7.client import MLLPClient
host, port = sys.argv[1], int(sys.argv[2])
answers = []
with MLLPClient(host, port, encoding="latin-1") as client:
    for path in sys.argv[3:]:
        raw = open(path, "rb").read().decode("latin-1")
        raw = raw.replace("\r\n", "\r").replace("\n", "\r")
        ack = client.send_message(raw)
        parsed = hl7.parse(ack.decode("utf-8"))
        msa = parsed.segment("MSA")
        answers.append({"code": str(msa[1]), "control": str(msa[2]), "text": str(msa[3]),
                        "type": str(parsed.segment("MSH")[9])})
print(json.dumps(answers))
"#;
    let run = |mut command: std::process::Command| async move {
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    };
    let mut command = std::process::Command::new(python);
    command
        .arg("-c")
        .arg(script)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .args(&files);
    let out = run(command).await;
    assert!(
        out.status.success(),
        "python-hl7 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<(&str, &str)> = answers
        .iter()
        .map(|a| (a["code"].as_str().unwrap(), a["control"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            ("AA", "V251-UTF8-0001"),
            ("AA", "V23-LATIN1-0001"),
            ("AA", "V24-PDF-0001"),
            ("AR", "ADT-0001"),
        ]
    );
    assert!(
        answers
            .iter()
            .all(|a| a["type"].as_str().unwrap().starts_with("ACK"))
    );
    // mllp_send, python-hl7's command-line sender, on a file of its own.
    let mllp_send = std::path::Path::new(&std::env::var_os("HIPPO_TEST_INTEROP_PYTHON").unwrap())
        .with_file_name("mllp_send");
    let resend = dir.join("resend.hl7");
    std::fs::write(
        &resend,
        with_security(&oru("SEND-1", "S-1", "Send^Sam", "19660606"), &key),
    )
    .unwrap();
    let mut command = std::process::Command::new(&mllp_send);
    command
        .args(["--loose", "--port", &addr.port().to_string(), "--file"])
        .arg(&resend)
        .arg(addr.ip().to_string());
    let out = run(command).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "mllp_send: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("MSA|AA|SEND-1"), "{stdout}");
}

fn wide_mllp_app_config(config: &mut hippo_server::ServerConfig) {
    let mut mllp = MllpConfig::new("127.0.0.1:0".parse().unwrap());
    mllp.max_connections = 256;
    config.hl7.mllp = Some(mllp);
}

/// The group commit under load: 200 connections × 5 messages at once,
/// some malformed (their own NACK), some resent (duplicate AA), some with
/// a birth date that contradicts their patient (AE). Every message gets
/// its own right answer, exactly the good ones are stored, each with the
/// patient its PID named.
#[tokio::test]
#[allow(clippy::unwrap_used)]
async fn grouped_mllp_intake_answers_each_message_for_itself() {
    const CONNECTIONS: usize = 200;
    const PER_CONNECTION: usize = 5;
    const PATIENTS: usize = 50;
    let app = test_app().configure(wide_mllp_app_config).spawn().await;
    let key = lab_key(&app, "admin@labor-nord").await;
    let addr = app.mllp_addr.unwrap();
    let findings_before = app.count("SELECT COUNT(*) FROM findings").await;
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let p = c % PATIENTS;
            let identifier = format!("CONC-P{p}");
            let name = format!("Last{p}^Conc");
            let mut stored = Vec::new();
            let mut stream = TcpStream::connect(addr).await.unwrap();
            for m in 0..PER_CONNECTION {
                let (control, birth, expect) = match (c % 10, m) {
                    (0, 2) => (format!("CONC-{c}-{m}"), "19900101", "malformed"),
                    (1, 3) => (format!("CONC-{c}-1"), "19900101", "duplicate"),
                    (2, 4) => (format!("CONC-{c}-{m}"), "19850101", "mismatch"),
                    _ => (format!("CONC-{c}-{m}"), "19900101", "good"),
                };
                let mut message = oru(&control, &identifier, &name, birth);
                if expect == "malformed" {
                    let text = String::from_utf8(message).unwrap();
                    message = text.replace("\rPID|", "\rPXD|").into_bytes();
                }
                let message = with_security(&message, &key);
                // Back-pressure answers AR "busy": the sender retries.
                let mut ack = String::new();
                for _ in 0..1500 {
                    stream
                        .write_all(&hippo_hl7::mllp::frame(&message))
                        .await
                        .unwrap();
                    ack = read_frame(&mut stream).await.expect("an ACK");
                    if !msa(&ack).2.contains("busy") {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let (code, acked, text) = msa(&ack);
                assert_eq!(acked, control, "{ack}");
                match expect {
                    "good" => {
                        assert_eq!(code, "AA", "{ack}");
                        stored.push((control, identifier.clone()));
                    }
                    "duplicate" => {
                        assert_eq!(code, "AA", "{ack}");
                        assert!(text.contains("duplicate"), "{ack}");
                    }
                    "mismatch" => assert_eq!(code, "AE", "{ack}"),
                    _ => assert!(code == "AE" || code == "AR", "{ack}"),
                }
            }
            stored
        }));
    }
    let mut expected = std::collections::BTreeMap::new();
    for task in tasks {
        expected.extend(task.await.unwrap());
    }
    let good = CONNECTIONS * PER_CONNECTION - 3 * (CONNECTIONS / 10);
    assert_eq!(expected.len(), good);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM findings").await - findings_before,
        good as i64
    );
    // Each stored message belongs to the patient its PID-3 named.
    let rows = sqlx::query(
        "SELECT m.control_id, i.value FROM hl7_messages m \
         JOIN patient_identifiers i ON i.patient_id = m.patient_id \
         WHERE m.control_id LIKE 'CONC-%'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let stored: std::collections::BTreeMap<String, String> = rows
        .iter()
        .map(|row| {
            use sqlx::Row;
            (row.get::<String, _>(0), row.get::<String, _>(1))
        })
        .collect();
    assert_eq!(stored, expected);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM findings f JOIN patient_identifiers i \
             ON i.patient_id = f.patient_id WHERE i.value LIKE 'CONC-P%'"
        )
        .await,
        good as i64
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM patient_identifiers WHERE value LIKE 'CONC-P%'")
            .await,
        PATIENTS as i64
    );
}
