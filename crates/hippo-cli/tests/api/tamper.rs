//! The tamper-evident log: `hippo audit verify` passes on an intact log and
//! fails, naming the place, when a record is changed, removed, reordered or
//! the tail truncated, or a head forged; old heads stay provably consistent
//! with newer ones; inclusion proofs verify.

use std::process::Command;
use std::time::Duration;

use hippo_audit::merkle::{consistency_proof, root, verify_consistency, verify_inclusion};
use hippo_store::{Store, StoreOptions};
use sqlx::{AnyConnection, Connection, Executor, Row};

use crate::helpers::{TestApp, test_app};

const HIPPO: &str = env!("CARGO_BIN_EXE_hippo");

/// Some traffic, then wait until a signed head covers the whole log.
async fn busy_log(app: &TestApp) -> u64 {
    let max = app.login("max.schmidt").await;
    for f in &max.user.finding_ids {
        app.get(&format!("/api/v1/findings/{f}"), &max).await;
        app.get(&format!("/api/v1/findings/{}", uuid::Uuid::new_v4()), &max)
            .await;
    }
    let log = app.store.audit_log();
    for _ in 0..200 {
        let size = log.size().await.unwrap();
        if log
            .latest_head()
            .await
            .unwrap()
            .is_some_and(|h| h.head.size == size)
        {
            return size;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no signed head caught up with the log");
}

/// A consistent copy of the database to tamper with.
async fn copy(app: &TestApp, name: &str) -> std::path::PathBuf {
    let path = app.dir.join(name);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "VACUUM INTO '{}'",
        path.display()
    )))
    .execute(&app.db)
    .await
    .unwrap();
    path
}

async fn tamper(path: &std::path::Path, sql: &str) {
    let mut conn = AnyConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    conn.execute(
        "DROP TRIGGER audit_records_no_update; DROP TRIGGER audit_records_no_delete; \
         DROP TRIGGER tree_heads_no_update; DROP TRIGGER tree_heads_no_delete;",
    )
    .await
    .unwrap();
    conn.execute(sqlx::AssertSqlSafe(sql.to_owned()))
        .await
        .unwrap();
    conn.close().await.unwrap();
}

/// Run the real `hippo audit verify` on a database file.
fn verify_cli(app: &TestApp, db: &std::path::Path) -> (bool, String) {
    let out = Command::new(HIPPO)
        .args(["audit", "verify", "--database-url"])
        .arg(format!("sqlite://{}", db.display()))
        .arg("--audit-key")
        .arg(app.dir.join("keys/audit-signing.key"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn verify_passes_on_an_intact_log_and_names_every_kind_of_tampering() {
    let app = test_app().on_sqlite().spawn().await;
    let size = busy_log(&app).await;
    assert!(size > 40, "{size}");

    let intact = copy(&app, "intact.db").await;
    let (ok, text) = verify_cli(&app, &intact);
    assert!(ok, "{text}");
    assert!(text.contains("audit log intact"), "{text}");

    let cases: [(&str, String, &str); 7] = [
        ("field", "UPDATE audit_records SET detail = COALESCE(detail, '') || 'x' WHERE seq = 20".into(), "record #20"),
        (
            "leaf hash",
            "UPDATE audit_records SET leaf_hash = zeroblob(32) WHERE seq = 21".into(),
            "record #21",
        ),
        ("deleted", "DELETE FROM audit_records WHERE seq = 22".into(), "record #22 is missing"),
        (
            "reordered",
            "UPDATE audit_records SET seq = -1 WHERE seq = 23; UPDATE audit_records SET seq = 23 WHERE seq = 24; \
             UPDATE audit_records SET seq = 24 WHERE seq = -1;"
                .into(),
            "record #23",
        ),
        (
            "truncated",
            format!("DELETE FROM audit_records WHERE seq > {}", size - 3),
            "truncated",
        ),
        (
            "forged head",
            format!(
                "INSERT INTO tree_heads (size, root, issued_at, signature, public_key) \
                 VALUES ({}, zeroblob(32), 1, zeroblob(64), 'x')",
                size + 100
            ),
            "invalid signature",
        ),
        (
            // A careful attacker rewrites a record and re-derives its
            // encoding and leaf hash; only the signed heads catch it.
            "rewritten",
            "UPDATE audit_records SET leaf_hash = zeroblob(32) WHERE seq = 2".into(),
            "record #2",
        ),
    ];
    for (name, sql, expected) in cases {
        let db = copy(&app, &format!("{}.db", name.replace(' ', "-"))).await;
        tamper(&db, &sql).await;
        let (ok, text) = verify_cli(&app, &db);
        assert!(!ok, "{name}: verify passed on a tampered log");
        assert!(
            text.contains(expected),
            "{name}: expected {expected:?} in {text}"
        );
    }
}

#[tokio::test]
async fn a_consistently_rewritten_record_is_caught_by_the_signed_heads() {
    let app = test_app().on_sqlite().spawn().await;
    busy_log(&app).await;
    let db = copy(&app, "rewritten.db").await;
    // Rewrite record #5 completely: fields, encoding and leaf hash agree.
    let store = Store::open(&StoreOptions {
        database_url: Some(hippo_store::DatabaseUrl::new(format!(
            "sqlite://{}",
            db.display()
        ))),
        data_dir: app.dir.clone(),
        build: "attacker".into(),
        blob_url: None,
        blob_options: Default::default(),
        keys: None,
    })
    .await
    .unwrap();
    let mut conn = AnyConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    conn.execute("DROP TRIGGER audit_records_no_update")
        .await
        .unwrap();
    // Forge: change the build column and recompute encoding + leaf hash the
    // way the server would.
    let r = sqlx::query("SELECT * FROM audit_records WHERE seq = 5")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let t = |c: &str| r.get::<Option<String>, _>(c);
    let s = |c: &str| r.get::<String, _>(c);
    let (actor_id, actor_tenant, resource) =
        (t("actor_id"), t("actor_tenant_id"), t("resource_id"));
    let (patient, tenant, detail) = (t("patient_id"), t("tenant_id"), t("detail"));
    let (client, agent, route) = (t("client_addr"), t("user_agent"), t("route"));
    let (id, kind, action, rkind, outcome, request) = (
        s("id"),
        s("actor_kind"),
        s("action"),
        s("resource_kind"),
        s("outcome"),
        s("request_id"),
    );
    let canonical = hippo_core::audit::CanonicalFields::<str> {
        seq: 5,
        at: r.get("at"),
        id: &id,
        actor_kind: &kind,
        actor_id: actor_id.as_deref(),
        actor_tenant_id: actor_tenant.as_deref(),
        action: &action,
        resource_kind: &rkind,
        resource_id: resource.as_deref(),
        patient_id: patient.as_deref(),
        tenant_id: tenant.as_deref(),
        outcome: &outcome,
        detail: detail.as_deref(),
        request_id: &request,
        route: route.as_deref(),
        client_addr: client.as_deref(),
        user_agent: agent.as_deref(),
        build: "innocent-build",
        claim: &s("claim"),
    }
    .encode();
    let leaf = hippo_audit::merkle::leaf_hash(&canonical);
    sqlx::query("UPDATE audit_records SET build = 'innocent-build', leaf_hash = $1 WHERE seq = 5")
        .bind(leaf.as_slice())
        .execute(&mut conn)
        .await
        .unwrap();
    let key = hippo_audit::AuditSigningKey::from_hex(
        &std::fs::read_to_string(app.dir.join("keys/audit-signing.key")).unwrap(),
    )
    .unwrap();
    let report = store
        .audit_log()
        .verify(&key.verifying_key(), |_, _| {})
        .await
        .unwrap();
    let problem = report.problem.expect("rewrite not detected");
    assert!(
        problem.contains("#1..#") && problem.contains("do not match the signed head"),
        "{problem}"
    );
}

#[tokio::test]
async fn old_heads_stay_consistent_and_records_provably_included() {
    let app = test_app().on_sqlite().spawn().await;
    busy_log(&app).await;
    let first = app.store.audit_log().latest_head().await.unwrap().unwrap();
    busy_log(&app).await;
    let log = app.store.audit_log();
    let last = log.latest_head().await.unwrap().unwrap();
    assert!(last.head.size > first.head.size);
    let leaves = log.leaf_hashes(1, last.head.size).await.unwrap();
    assert_eq!(root(&leaves[..first.head.size as usize]), first.head.root);
    let proof = consistency_proof(first.head.size as usize, &leaves).unwrap();
    assert!(verify_consistency(
        first.head.size,
        last.head.size,
        &first.head.root,
        &last.head.root,
        &proof
    ));

    // Every record of Max's reads is provably in the latest head.
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM audit_records WHERE action = 'finding_read' LIMIT 5")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(!ids.is_empty());
    for id in ids {
        let p = log.inclusion_proof(&id).await.unwrap();
        assert!(verify_inclusion(
            p.leaf_index,
            p.head.head.size,
            &p.leaf_hash,
            &p.audit_path,
            &p.head.head.root
        ));
    }
    // The CLI prints the same proof and checks it.
    let out = Command::new(HIPPO)
        .args(["audit", "prove", "--data-dir"])
        .arg(&app.dir)
        .arg(
            sqlx::query_scalar::<_, String>("SELECT id FROM audit_records WHERE seq = 3")
                .fetch_one(&app.db)
                .await
                .unwrap(),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"verified\": true"));
}

#[tokio::test]
async fn export_writes_json_lines_and_fhir_audit_events() {
    let app = test_app().on_sqlite().spawn().await;
    busy_log(&app).await;
    let run = |fhir: bool| {
        let mut cmd = Command::new(HIPPO);
        cmd.args(["audit", "export", "--format", "json", "--data-dir"])
            .arg(&app.dir);
        if fhir {
            cmd.arg("--fhir");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let total = app.count("SELECT COUNT(*) FROM audit_records").await as usize;
    let lines = run(false);
    // Records appended after the export started may be missing; none extra.
    let n = lines.lines().count();
    assert!(n > 0 && n <= total, "{n} of {total}");
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert!(first["id"].is_string() && first["action"].is_string());

    let fhir = run(true);
    let events: Vec<serde_json::Value> = fhir
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        events
            .iter()
            .all(|e| e["resourceType"] == "AuditEvent" && e["recorded"].is_string())
    );
    let read = events
        .iter()
        .find(|e| e["subtype"][0]["code"] == "finding_read" && e["outcome"] == "0")
        .expect("a successful finding read");
    assert_eq!(read["action"], "R");
    assert!(
        read["entity"][0]["what"]["reference"]
            .as_str()
            .unwrap()
            .starts_with("Patient/")
    );
    assert_eq!(read["agent"][0]["type"]["text"], "patient");
}
