//! Benchmarks live in `benches/`; see docs/BENCHMARKS.md.

use hippo_cli::demo::DemoUser;
use serde_json::{Value, json};

/// Log a demo user in through the API, with the TOTP step for staff and
/// operators; the session token.
pub async fn demo_login(
    client: &reqwest::Client,
    url: &str,
    user: &DemoUser,
) -> anyhow::Result<String> {
    let response = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"email": user.email, "password": user.password}))
        .send()
        .await?;
    let accepted = response.status() == reqwest::StatusCode::ACCEPTED;
    let mut body: Value = response.json().await?;
    if accepted {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let code = user
            .totp_secret
            .as_deref()
            .and_then(|secret| hippo_server::auth::totp::code_at(secret, now))
            .ok_or_else(|| anyhow::anyhow!("{} has no TOTP secret", user.email))?;
        body = client
            .post(format!("{url}/api/v1/auth/login/second-factor"))
            .json(&json!({"pending_token": body["pending_token"], "code": code}))
            .send()
            .await?
            .json()
            .await?;
    }
    body["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("login of {} returned no token: {body}", user.email))
}
