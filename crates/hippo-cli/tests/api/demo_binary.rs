//! The real `hippo` binary: help texts, migrate, and `hippo demo` writing a
//! credentials file that works against the server it started.

use std::process::{Command, Stdio};
use std::time::Duration;

use hippo_cli::demo::DemoCredentials;
use serde_json::{Value, json};

const HIPPO: &str = env!("CARGO_BIN_EXE_hippo");

#[test]
fn help_lists_the_subcommands_and_shared_options() {
    let out = Command::new(HIPPO).arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for cmd in ["serve", "demo", "migrate"] {
        assert!(text.contains(cmd), "{text}");
    }
    for cmd in ["serve", "demo", "migrate"] {
        let out = Command::new(HIPPO).args([cmd, "--help"]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("--data-dir"), "{cmd}: {text}");
        assert!(text.contains("--database-url"), "{cmd}: {text}");
        assert!(text.contains("HIPPO_DATA_DIR"), "{cmd}: {text}");
    }
}

#[test]
fn migrate_creates_the_database_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(HIPPO)
        .arg("migrate")
        .env("HIPPO_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("hippo.db").exists());
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn demo_seeds_serves_and_describes_itself() {
    let dir = tempfile::tempdir().unwrap();
    let creds_path = dir.path().join("creds.json");
    let config = dir.path().join("hippo.toml");
    std::fs::write(
        &config,
        format!("data_dir = {:?}\n", dir.path().join("data")),
    )
    .unwrap();
    let _child = Child(
        Command::new(HIPPO)
            .args(["demo", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--credentials-out")
            .arg(&creds_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut waited = 0;
    while !creds_path.exists() || std::fs::read_to_string(&creds_path).unwrap().is_empty() {
        assert!(waited < 600, "demo did not write its credentials");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let creds: DemoCredentials =
        serde_json::from_str(&std::fs::read_to_string(&creds_path).unwrap()).unwrap();
    assert!(
        dir.path().join("data").join("hippo.db").exists(),
        "data dir taken from the config file"
    );
    assert_eq!(creds.tenants.len(), 2);
    for tenant in &creds.tenants {
        let staff: Vec<_> = creds
            .users
            .iter()
            .filter(|u| u.tenant_id == Some(tenant.id))
            .collect();
        assert!(staff.iter().any(|u| u.role == "clinician"));
        assert!(staff.iter().any(|u| u.role == "tenant_admin"));
        assert!(staff[0].patient_ids.len() >= 3);
    }
    let patients: Vec<_> = creds.users.iter().filter(|u| u.role == "patient").collect();
    assert!(
        patients.iter().any(|p| p.patient_ids.len() == 2),
        "one person is a patient of both"
    );
    assert!(
        patients
            .iter()
            .all(|p| p.tenant_id.is_none() && p.finding_ids.len() >= 2 * p.patient_ids.len())
    );

    let raw: Value = serde_json::from_str(&std::fs::read_to_string(&creds_path).unwrap()).unwrap();
    let mut keys: Vec<&str> = raw["users"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "email",
            "finding_ids",
            "password",
            "patient_ids",
            "role",
            "tenant_id",
            "thread_ids",
            "totp_secret"
        ]
    );
    // Staff and the operator have a TOTP seed (base32), patients none.
    for user in &creds.users {
        let secret = user.totp_secret.as_deref();
        if user.role == "patient" {
            assert!(secret.is_none());
        } else {
            let secret = secret.unwrap_or_else(|| panic!("{} has no totp_secret", user.email));
            assert!(totp_rs::Secret::try_from_base32(secret).is_ok(), "{secret}");
        }
    }

    let client = reqwest::Client::new();
    let user = patients[0];
    let login: Value = client
        .post(format!("{}/api/v1/auth/login", creds.url))
        .json(&json!({"email": user.email, "password": user.password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let list: Value = client
        .get(format!("{}/api/v1/findings", creds.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), user.finding_ids.len());

    // One valid retrieval code per tenant, at the top level, as printed.
    let mut top: Vec<&str> = raw
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    top.sort_unstable();
    assert_eq!(top, ["retrieval_codes", "tenants", "url", "users"]);
    let mut fields: Vec<&str> = raw["retrieval_codes"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["code", "date_of_birth", "finding_id", "tenant_id"]);
    assert_eq!(creds.retrieval_codes.len(), creds.tenants.len());
    for code in &creds.retrieval_codes {
        assert!(creds.tenants.iter().any(|t| t.id == code.tenant_id));
        assert_eq!(code.code.len(), 19, "grouped: {}", code.code);
        let opened: Value = client
            .post(format!("{}/api/v1/retrieval", creds.url))
            .json(&json!({"code": code.code, "date_of_birth": code.date_of_birth}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(opened["finding"]["id"], code.finding_id.to_string());
    }
    // Every user's thread_ids are exactly the threads they can read.
    assert!(creds.users.iter().any(|u| !u.thread_ids.is_empty()));
    for user in creds.users.iter().filter(|u| u.role != "operator") {
        let token = &crate::helpers::login_at(&client, &creds.url, user).await;
        let page: Value = client
            .get(format!("{}/api/v1/threads", creds.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut listed: Vec<String> = page["threads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect();
        let mut expected: Vec<String> = user.thread_ids.iter().map(|t| t.to_string()).collect();
        listed.sort();
        expected.sort();
        assert_eq!(listed, expected, "{}", user.email);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&creds_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "credentials file readable by others");
    }
}
