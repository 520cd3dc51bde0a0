//! Walk every JSON and HTML response of the demo data as each principal and
//! fail on anything that must never reach a browser: passwords, password
//! hashes, session tokens of others, API key secrets, and IDs or names of
//! patients the principal may not see. (The first seed incident leaked a
//! practice's mail credentials through a browser response.)

use std::collections::{BTreeSet, VecDeque};

use serde_json::{Value, json};
use sqlx::Row;

use crate::helpers::{Session, TestApp, spawn_app};

/// Strings the principal may not receive.
fn forbidden_for(app: &TestApp, me: &Session, secrets: &[String]) -> Vec<String> {
    let mut forbidden: Vec<String> = secrets
        .iter()
        .filter(|s| **s != me.token)
        .cloned()
        .collect();
    let my_patients: BTreeSet<String> = me
        .user
        .patient_ids
        .iter()
        .map(ToString::to_string)
        .collect();
    let my_findings: BTreeSet<String> = me
        .user
        .finding_ids
        .iter()
        .map(ToString::to_string)
        .collect();
    for other in &app.world.users {
        for p in &other.patient_ids {
            if !my_patients.contains(&p.to_string()) {
                forbidden.push(p.to_string());
            }
        }
        for f in &other.finding_ids {
            if !my_findings.contains(&f.to_string()) {
                forbidden.push(f.to_string());
            }
        }
    }
    forbidden.sort();
    forbidden.dedup();
    forbidden
}

/// Family names of patients whose records the principal may not see.
async fn foreign_names(app: &TestApp, me: &Session) -> Vec<String> {
    let mine: BTreeSet<String> = me
        .user
        .patient_ids
        .iter()
        .map(ToString::to_string)
        .collect();
    let rows = sqlx::query("SELECT id, family_name FROM patients")
        .fetch_all(&app.db)
        .await
        .unwrap();
    let visible: BTreeSet<String> = rows
        .iter()
        .filter(|r| mine.contains(&r.get::<String, _>("id")))
        .map(|r| r.get::<String, _>("family_name"))
        .collect();
    rows.iter()
        .map(|r| r.get::<String, _>("family_name"))
        .filter(|n| !visible.contains(n))
        .collect()
}

fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|l| l.starts_with('/') && !l.starts_with("//"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn no_response_carries_secrets_or_foreign_data() {
    let app = spawn_app().await;
    let mut sessions = Vec::new();
    for user in app.world.users.clone() {
        sessions.push(app.login(&user.email).await);
    }
    // A lab key exists too; its secret must never be shown after creation.
    let admin = sessions
        .iter()
        .find(|s| s.user.email.starts_with("admin@labor-nord"))
        .unwrap()
        .clone();
    let key: Value = app
        .post_json("/api/v1/api-keys", &admin, &json!({"name": "lab"}))
        .await
        .json()
        .await
        .unwrap();
    let mut secrets: Vec<String> = sessions.iter().map(|s| s.token.clone()).collect();
    secrets.extend(app.world.users.iter().map(|u| u.password.clone()));
    secrets.push(key["secret"].as_str().unwrap().to_owned());
    for table in ["staff_users", "accounts", "operators"] {
        for row in sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT password_hash FROM {table}"
        )))
        .fetch_all(&app.db)
        .await
        .unwrap()
        {
            secrets.push(row.get("password_hash"));
        }
    }
    for row in
        sqlx::query("SELECT token_hash FROM sessions UNION ALL SELECT key_hash FROM api_keys")
            .fetch_all(&app.db)
            .await
            .unwrap()
    {
        secrets.push(row.get(0));
    }
    secrets.push("$argon2".into());

    let mut pages = 0;
    for me in &sessions {
        let forbidden = forbidden_for(&app, me, &secrets);
        let names = foreign_names(&app, me).await;
        // API: every GET route of the table with the principal's own IDs.
        let mut api_paths = vec![
            "/api/v1/findings".to_owned(),
            "/api/v1/patients".to_owned(),
            "/api/v1/tenants".to_owned(),
            "/api/v1/api-keys".to_owned(),
        ];
        for p in &me.user.patient_ids {
            api_paths.push(format!("/api/v1/patients/{p}"));
            api_paths.push(format!("/api/v1/patients/{p}/findings"));
        }
        for f in &me.user.finding_ids {
            api_paths.push(format!("/api/v1/findings/{f}"));
            api_paths.push(format!("/api/v1/findings/{f}/pdf"));
        }
        let mut bodies = Vec::new();
        for path in api_paths {
            let body = app.get(&path, me).await.bytes().await.unwrap();
            bodies.push((path, String::from_utf8_lossy(&body).into_owned()));
        }
        // Web: crawl every page reachable from the start page.
        let mut queue = VecDeque::from(["/".to_owned()]);
        let mut seen = BTreeSet::new();
        while let Some(path) = queue.pop_front() {
            if !seen.insert(path.clone()) || seen.len() > 200 {
                continue;
            }
            let r = app.web_get(&path, me).await;
            if let Some(location) = r.headers().get("location") {
                queue.push_back(location.to_str().unwrap().to_owned());
            }
            let body = String::from_utf8_lossy(&r.bytes().await.unwrap()).into_owned();
            queue.extend(links(&body).into_iter().filter(|l| !seen.contains(l)));
            bodies.push((path, body));
        }
        for (path, body) in &bodies {
            pages += 1;
            // The operators' forensic view names patient records by ID (as
            // `GET /api/v1/forensics/…` does: who accessed which record);
            // it must still carry no secret and no name.
            let forensic = me.user.role == "operator" && path.starts_with("/forensics");
            for f in forbidden
                .iter()
                .filter(|f| !forensic || secrets.contains(f))
            {
                assert!(
                    !body.contains(f.as_str()),
                    "{} got {f:?} in {path}",
                    me.user.email
                );
            }
            for name in &names {
                assert!(
                    !body.contains(name.as_str()),
                    "{} got the name {name} in {path}",
                    me.user.email
                );
            }
            assert!(!body.to_lowercase().contains("password_hash"), "{path}");
        }
    }
    println!("checked {pages} responses");
    assert!(pages > 150, "{pages}");
}

/// A database that cannot be opened is reported without the password of
/// its URL, whatever went wrong.
#[test]
fn a_failing_database_url_is_reported_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let password = "Pg-S3cret-c41f";
    for url in [
        format!("postgres://hippo:{password}@127.0.0.1:1/hippo"),
        format!("mysql://hippo:{password}@127.0.0.1/hippo"),
    ] {
        let out = std::process::Command::new(crate::helpers::HIPPO)
            .args(["migrate", "--data-dir"])
            .arg(dir.path())
            .args(["--database-url", &url])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{url} opened");
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!shown.contains(password), "{shown}");
        assert!(shown.contains("database"), "{shown}");
        if url.starts_with("postgres") {
            // The real reason, not "overloaded".
            assert!(shown.contains("refused"), "{shown}");
        }
    }
}
