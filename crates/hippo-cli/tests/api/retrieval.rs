//! Retrieval codes (issue 11): staff issue a code for one released
//! finding; a person without an account opens exactly that finding with
//! the code and their date of birth, and downloads its PDF once. Wrong
//! dates of birth look like wrong codes, typos do not count, attempts are
//! limited per code across instances and per address, and every use is in
//! the patient's access history.

use futures_util::future::join_all;
use hippo_core::retrieval::RetrievalCode;
use hippo_server::{RunningServer, ServerConfig};
use hippo_store::{Store, StoreOptions};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::Row;

use crate::helpers::{Session, TestApp, contains, spawn_app, test_app};

const MAX_BIRTH_DATE: &str = "1978-03-02";

/// Issue a code through the API as `staff`, expecting 201.
async fn issue(app: &TestApp, staff: &Session, finding: &str) -> Value {
    let response = app
        .post_empty(
            &format!("/api/v1/findings/{finding}/retrieval-codes"),
            staff,
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "issue for {finding}"
    );
    response.json().await.unwrap()
}

async fn retrieve_at(client: &Client, url: &str, code: &str, birth_date: &str) -> Response {
    client
        .post(format!("{url}/api/v1/retrieval"))
        .json(&json!({"code": code, "date_of_birth": birth_date}))
        .send()
        .await
        .unwrap()
}

async fn retrieve(app: &TestApp, code: &str, birth_date: &str) -> Response {
    retrieve_at(&app.client, &app.url, code, birth_date).await
}

async fn error_code(response: Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["error"]["code"].as_str().unwrap().to_owned()
}

async fn failed_attempts(app: &TestApp, code_id: &str) -> i64 {
    sqlx::query("SELECT failed_attempts FROM retrieval_codes WHERE id = $1")
        .bind(code_id)
        .fetch_one(&app.db)
        .await
        .unwrap()
        .get(0)
}

/// Max Schmidt's first finding (released, Labor Nord) and a clinician there.
async fn max_and_keller(app: &TestApp) -> (String, Session) {
    let finding = app.user("max.schmidt").finding_ids[0].to_string();
    (finding, app.login("a.keller").await)
}

/// The printed code on a sheet: the only `XXXX-XXXX-XXXX-XXXX` in it.
fn code_on_sheet(pdf: &[u8]) -> String {
    let text = String::from_utf8_lossy(pdf);
    let alphabet = std::str::from_utf8(hippo_core::retrieval::ALPHABET).unwrap();
    let chars: Vec<char> = text.chars().collect();
    let found: Vec<String> = chars
        .windows(19)
        .map(|w| w.iter().collect::<String>())
        .filter(|w| {
            w.char_indices().all(|(i, c)| {
                if i % 5 == 4 {
                    c == '-'
                } else {
                    alphabet.contains(c)
                }
            })
        })
        .collect();
    assert_eq!(found.len(), 1, "one code on the sheet: {found:?}");
    found[0].clone()
}

#[tokio::test]
async fn issue_retrieve_and_download_the_pdf_exactly_once() {
    let app = spawn_app().await;
    let (finding, keller) = max_and_keller(&app).await;
    let issued = issue(&app, &keller, &finding).await;
    let code = issued["code"].as_str().unwrap();
    assert_eq!(code.len(), 19);
    assert_eq!(issued["attempts_left"], 5);
    assert_eq!(issued["finding_id"], finding.as_str());
    assert!(
        issued["retrieval_url"]
            .as_str()
            .unwrap()
            .ends_with("/retrieve")
    );
    // Only the hash is stored.
    let stored = app
        .count(&format!(
            "SELECT COUNT(*) FROM retrieval_codes WHERE code_hash LIKE '%{}%'",
            code.replace('-', "")
        ))
        .await;
    assert_eq!(stored, 0);

    let response = retrieve(&app, code, MAX_BIRTH_DATE).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["finding"]["id"], finding.as_str());
    assert!(
        !body["finding"]["observations"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let pdf_url = body["pdf"]["url"].as_str().unwrap().to_owned();
    let first = app
        .client
        .get(format!("{}{pdf_url}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(
        first.headers()["content-type"].to_str().unwrap(),
        "application/pdf"
    );
    assert!(first.bytes().await.unwrap().starts_with(b"%PDF-"));
    let second = app
        .client
        .get(format!("{}{pdf_url}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::NOT_FOUND, "a link works once");

    // The list shows the code's metadata, never the code or its hash.
    let listed = app
        .get_json(
            &format!("/api/v1/findings/{finding}/retrieval-codes"),
            &keller,
        )
        .await;
    let listed = listed.as_array().unwrap();
    assert!(listed.iter().any(|c| c["id"] == issued["id"]));
    let text = serde_json::to_string(listed).unwrap();
    assert!(!text.contains(code) && !text.contains("hash"), "{text}");
}

#[tokio::test]
async fn the_printed_sheet_is_a_pdf_with_the_code_and_a_qr_code() {
    let app = spawn_app().await;
    let (finding, keller) = max_and_keller(&app).await;
    let response = app
        .post_empty(
            &format!("/api/v1/findings/{finding}/retrieval-codes?format=pdf"),
            &keller,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let sheet = response.bytes().await.unwrap();
    assert!(sheet.starts_with(b"%PDF-"));
    // In the language of the request (English without a preference).
    for needle in [&b"/retrieve"[..], b"Your retrieval code"] {
        assert!(contains(&sheet, needle));
    }
    assert!(
        !contains(&sheet, b"Ihr Abrufcode"),
        "one language per sheet"
    );
    let german = app
        .client
        .post(format!(
            "{}/api/v1/findings/{finding}/retrieval-codes?format=pdf",
            app.url
        ))
        .bearer_auth(&keller.token)
        .header("accept-language", "de-DE,de;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(german.status(), StatusCode::CREATED);
    let german = german.bytes().await.unwrap();
    assert!(contains(&german, b"Ihr Abrufcode") && !contains(&german, b"Your retrieval code"));
    // The QR code's modules are drawn as rectangles (hundreds of them).
    assert!(String::from_utf8_lossy(&sheet).matches(" re\n").count() > 200);
    // No finding values or names on it.
    let max = app.user("max.schmidt");
    assert!(!contains(&sheet, b"Schmidt") && !contains(&sheet, max.email.as_bytes()));
    // The code on the sheet is the one that works.
    let code = code_on_sheet(&sheet);
    let retrieved = retrieve(&app, &code, MAX_BIRTH_DATE).await;
    assert_eq!(retrieved.status(), StatusCode::OK);

    // A bad format is refused and nothing is stored.
    let before = app.count("SELECT COUNT(*) FROM retrieval_codes").await;
    for query in ["format=svg", "valid_days=0", "valid_days=91", "colour=red"] {
        let response = app
            .post_empty(
                &format!("/api/v1/findings/{finding}/retrieval-codes?{query}"),
                &keller,
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM retrieval_codes").await,
        before
    );
}

#[tokio::test]
async fn a_wrong_birth_date_answers_exactly_like_a_wrong_code() {
    let app = spawn_app().await;
    let demo = app.world.retrieval_codes[0].clone();
    let unknown = RetrievalCode::generate().unwrap().grouped();
    let wrong_birth = retrieve(&app, &demo.code, "1900-01-01").await;
    let wrong_code = retrieve(&app, &unknown, &demo.date_of_birth).await;
    assert_eq!(wrong_birth.status(), StatusCode::NOT_FOUND);
    assert_eq!(wrong_birth.status(), wrong_code.status());
    let (a, b) = (
        wrong_birth.bytes().await.unwrap(),
        wrong_code.bytes().await.unwrap(),
    );
    assert_eq!(a, b, "same body, byte for byte");
    // The web page too.
    let page = |code: String, birth: String, lang: &'static str| {
        let app = &app;
        async move {
            let form = app
                .client
                .get(format!("{}/retrieve", app.url))
                .header("accept-language", lang)
                .send()
                .await
                .unwrap();
            let cookie = form.headers()["set-cookie"].to_str().unwrap().to_owned();
            let csrf = cookie
                .split(';')
                .next()
                .unwrap()
                .split('=')
                .nth(1)
                .unwrap()
                .to_owned();
            let field = crate::helpers::hidden_csrf(&form.text().await.unwrap());
            let response = app
                .client
                .post(format!("{}/retrieve", app.url))
                .header("cookie", format!("hippo_login_csrf={csrf}"))
                .header("accept-language", lang)
                .form(&[
                    ("csrf", field.as_str()),
                    ("code", &code),
                    ("date_of_birth", &birth),
                ])
                .send()
                .await
                .unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            // The form's own token differs per answer; the rest must not.
            let start = text.find("name=\"csrf\" value=\"").unwrap();
            let mut text = text;
            text.replace_range(start..start + 19 + 64, "");
            (status, text.replace(&code, ""))
        }
    };
    // In each language, one language per page (issue 12 point 6).
    for (lang, message, other) in [
        (
            "de",
            "Code oder Geburtsdatum ist nicht korrekt.",
            "The code or the date of birth",
        ),
        (
            "en",
            "The code or the date of birth is not correct.",
            "Geburtsdatum ist nicht korrekt",
        ),
    ] {
        let web_birth = page(demo.code.clone(), "1900-01-01".into(), lang).await;
        let web_code = page(unknown.clone(), demo.date_of_birth.clone(), lang).await;
        assert_eq!(web_birth.0, StatusCode::NOT_FOUND);
        assert_eq!(web_birth, web_code, "{lang}");
        assert!(web_birth.1.contains(message), "{lang}: {}", web_birth.1);
        assert!(!web_birth.1.contains(other), "{lang}: one language");
    }
}

#[tokio::test]
async fn a_typo_or_a_malformed_date_is_refused_without_counting_an_attempt() {
    let app = spawn_app().await;
    let demo = app.world.retrieval_codes[0].clone();
    let code_id: String = sqlx::query("SELECT id FROM retrieval_codes WHERE finding_id = $1")
        .bind(demo.finding_id.to_string())
        .fetch_one(&app.db)
        .await
        .unwrap()
        .get(0);
    // Every single-symbol substitution of the first group.
    let alphabet = hippo_core::retrieval::ALPHABET;
    for position in [0usize, 1, 2, 3, 5, 18] {
        let mut typed = demo.code.clone().into_bytes();
        let replacement = alphabet.iter().find(|&&s| s != typed[position]).unwrap();
        typed[position] = *replacement;
        let typed = String::from_utf8(typed).unwrap();
        let response = retrieve(&app, &typed, &demo.date_of_birth).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{typed}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "code_typo");
        assert!(body["error"]["message"].as_str().unwrap().contains("typo"));
    }
    for malformed in ["ABC", "0000-0000-0000-0000", ""] {
        let response = retrieve(&app, malformed, &demo.date_of_birth).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error_code(response).await, "code_malformed");
    }
    for birth in ["02.03.1978", "1978-13-02", "1978-02-30", "", "yesterday"] {
        let response = retrieve(&app, &demo.code, birth).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{birth}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_input");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("date_of_birth")
        );
    }
    // A body without the fields is refused too.
    let response = app
        .client
        .post(format!("{}/api/v1/retrieval", app.url))
        .json(&json!({"code": demo.code}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(failed_attempts(&app, &code_id).await, 0, "nothing counted");
    // Lower case with spaces is the same code.
    let relaxed = demo.code.to_lowercase().replace('-', " ");
    let response = retrieve(&app, &relaxed, &demo.date_of_birth).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// A second server on the same database and data directory (same keys).
async fn second_instance(app: &TestApp) -> RunningServer {
    let url = app
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", app.dir.join("hippo.db").display()));
    let store = Store::open(&StoreOptions {
        database_url: Some(hippo_store::DatabaseUrl::new(url)),
        data_dir: app.dir.clone(),
        build: "test-build-b".into(),
        blob_url: None,
        blob_options: Default::default(),
        keys: Some(hippo_store::KeySource::File(
            app.dir.join("keys/master.keyring"),
        )),
    })
    .await
    .unwrap();
    let mut config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::default()
    };
    config.retrieval.attempts_per_client_per_minute = 100_000;
    hippo_server::start(store, config).await.unwrap()
}

#[tokio::test]
async fn five_wrong_attempts_over_two_instances_lock_the_code_for_the_right_birth_date_too() {
    let app = spawn_app().await;
    let b = second_instance(&app).await;
    let (finding, keller) = max_and_keller(&app).await;
    let issued = issue(&app, &keller, &finding).await;
    let (code, id) = (
        issued["code"].as_str().unwrap(),
        issued["id"].as_str().unwrap(),
    );
    let urls = [app.url.clone(), b.url()];
    for attempt in 0..5 {
        let url = &urls[attempt % 2];
        let response = retrieve_at(&app.client, url, code, "1900-01-01").await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "attempt {attempt}"
        );
    }
    assert_eq!(failed_attempts(&app, id).await, 5);
    for url in &urls {
        let response = retrieve_at(&app.client, url, code, MAX_BIRTH_DATE).await;
        assert_eq!(response.status(), StatusCode::LOCKED);
        assert_eq!(error_code(response).await, "code_locked");
    }
    assert_eq!(failed_attempts(&app, id).await, 5, "never past the limit");
    let listed = app
        .get_json(
            &format!("/api/v1/findings/{finding}/retrieval-codes"),
            &keller,
        )
        .await;
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(row["attempts_left"], 0);
}

#[tokio::test]
async fn each_client_address_has_a_budget_of_attempts() {
    let app = test_app()
        .configure(|config| config.retrieval.attempts_per_client_per_minute = 3)
        .spawn()
        .await;
    let demo = app.world.retrieval_codes[0].clone();
    for _ in 0..3 {
        let response = retrieve(&app, &demo.code, "1900-01-01").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let refused = retrieve(&app, &demo.code, &demo.date_of_birth).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(refused).await, "rate_limited");
    let counted = app
        .count(&format!(
            "SELECT failed_attempts FROM retrieval_codes WHERE finding_id = '{}'",
            demo.finding_id
        ))
        .await;
    assert_eq!(counted, 3, "the refused attempt did not reach the code");
}

#[tokio::test]
async fn expired_revoked_and_withdrawn_codes_open_nothing() {
    let app = spawn_app().await;
    let (finding, keller) = max_and_keller(&app).await;
    let expired = issue(&app, &keller, &finding).await;
    sqlx::query("UPDATE retrieval_codes SET expires_at = 1 WHERE id = $1")
        .bind(expired["id"].as_str().unwrap())
        .execute(&app.db)
        .await
        .unwrap();
    let response = retrieve(&app, expired["code"].as_str().unwrap(), MAX_BIRTH_DATE).await;
    assert_eq!(response.status(), StatusCode::GONE);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("code_expired") && !body.contains("observations"),
        "{body}"
    );

    // Revoked: the code and a PDF link handed out before both stop working.
    let revoked = issue(&app, &keller, &finding).await;
    let code = revoked["code"].as_str().unwrap();
    let opened: Value = retrieve(&app, code, MAX_BIRTH_DATE)
        .await
        .json()
        .await
        .unwrap();
    let link = opened["pdf"]["url"].as_str().unwrap().to_owned();
    let response = app
        .post_empty(
            &format!(
                "/api/v1/retrieval-codes/{}/revoke",
                revoked["id"].as_str().unwrap()
            ),
            &keller,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let record: Value = response.json().await.unwrap();
    assert!(record["revoked_at"].is_string());
    let response = retrieve(&app, code, MAX_BIRTH_DATE).await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(error_code(response).await, "code_revoked");
    let pdf = app
        .client
        .get(format!("{}{link}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::NOT_FOUND);

    // Retracted finding: its codes no longer serve it.
    let withdrawn = issue(&app, &keller, &finding).await;
    let response = app
        .post_empty(&format!("/api/v1/findings/{finding}/retract"), &keller)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = retrieve(&app, withdrawn["code"].as_str().unwrap(), MAX_BIRTH_DATE).await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(error_code(response).await, "finding_withdrawn");
    // …and it cannot get a new one, nor can a draft.
    let response = app
        .post_empty(
            &format!("/api/v1/findings/{finding}/retrieval-codes"),
            &keller,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let draft: String =
        sqlx::query("SELECT id FROM findings WHERE status = 'draft' AND tenant_id = $1 LIMIT 1")
            .bind(app.world.tenants[0].id.to_string())
            .fetch_one(&app.db)
            .await
            .unwrap()
            .get(0);
    let before = app.count("SELECT COUNT(*) FROM retrieval_codes").await;
    let response = app
        .post_empty(
            &format!("/api/v1/findings/{draft}/retrieval-codes"),
            &keller,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM retrieval_codes").await,
        before
    );
}

#[tokio::test]
async fn staff_of_another_tenant_and_other_roles_reach_no_code() {
    let app = spawn_app().await;
    let (finding, keller) = max_and_keller(&app).await;
    let issued = issue(&app, &keller, &finding).await;
    let id = issued["id"].as_str().unwrap();
    let before = app.count("SELECT COUNT(*) FROM retrieval_codes").await;
    for who in ["j.petersen", "admin@labor-nord", "max.schmidt", "oncall@"] {
        let session = app.login(who).await;
        let list = app
            .get(
                &format!("/api/v1/findings/{finding}/retrieval-codes"),
                &session,
            )
            .await;
        assert_eq!(list.status(), StatusCode::NOT_FOUND, "{who} lists");
        let issue = app
            .post_empty(
                &format!("/api/v1/findings/{finding}/retrieval-codes"),
                &session,
            )
            .await;
        assert_eq!(issue.status(), StatusCode::NOT_FOUND, "{who} issues");
        let revoke = app
            .post_empty(&format!("/api/v1/retrieval-codes/{id}/revoke"), &session)
            .await;
        assert_eq!(revoke.status(), StatusCode::NOT_FOUND, "{who} revokes");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM retrieval_codes").await,
        before
    );
    let revoked_at: Option<i64> =
        sqlx::query("SELECT revoked_at FROM retrieval_codes WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap()
            .get(0);
    assert_eq!(revoked_at, None);
    // And the code still works.
    let response = retrieve(&app, issued["code"].as_str().unwrap(), MAX_BIRTH_DATE).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_code_opens_its_one_finding_and_every_use_is_in_the_access_history() {
    let app = spawn_app().await;
    for demo in &app.world.retrieval_codes {
        let response = retrieve(&app, &demo.code, &demo.date_of_birth).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["finding", "pdf"], "one finding, never a list");
        assert_eq!(body["finding"]["id"], demo.finding_id.to_string());
        assert_eq!(
            body["finding"]["facility"]["id"],
            demo.tenant_id.to_string()
        );
    }
    assert_eq!(app.world.retrieval_codes.len(), app.world.tenants.len());

    // The owner of the first code sees its uses: a wrong birth date, the
    // retrieval and the PDF download, by a code holder.
    let demo = app.world.retrieval_codes[0].clone();
    let owner = app
        .world
        .users
        .iter()
        .find(|u| u.role == "patient" && u.finding_ids.contains(&demo.finding_id))
        .unwrap()
        .email
        .clone();
    retrieve(&app, &demo.code, "1900-01-01").await;
    let opened: Value = retrieve(&app, &demo.code, &demo.date_of_birth)
        .await
        .json()
        .await
        .unwrap();
    let pdf = app
        .client
        .get(format!(
            "{}{}",
            app.url,
            opened["pdf"]["url"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    let patient = app.login(owner.split('@').next().unwrap()).await;
    let history = app.get_json("/api/v1/access-log", &patient).await;
    let by_holder: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "code_holder")
        .collect();
    let has = |action: &str, outcome: &str| {
        by_holder
            .iter()
            .any(|e| e["action"] == action && e["outcome"] == outcome)
    };
    assert!(has("retrieval_redeem", "success"), "{by_holder:?}");
    assert!(
        has("retrieval_redeem", "denied"),
        "wrong birth date: {by_holder:?}"
    );
    assert!(has("retrieval_pdf_download", "success"), "{by_holder:?}");
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "retrieval_code_issue"),
        "the issue is there too"
    );
    let page = app
        .web_get("/access-log", &patient)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("used a retrieval code to view a finding"),
        "{page}"
    );
    assert!(page.contains("code holder"));
    // The successful uses claim the code (not "none": no alert).
    let unclaimed = app
        .count("SELECT COUNT(*) FROM audit_records WHERE actor_kind = 'code_holder' AND claim = 'none'")
        .await;
    assert_eq!(unclaimed, 0);
}

#[tokio::test]
async fn the_web_pages_issue_retrieve_and_revoke() {
    let app = spawn_app().await;
    let (finding, keller) = max_and_keller(&app).await;
    let page = app.web_get(&format!("/findings/{finding}"), &keller).await;
    let html = page.text().await.unwrap();
    assert_eq!(
        html.matches("<h2>Retrieval codes</h2>").count(),
        1,
        "{html}"
    );
    assert!(html.contains("retrieval-codes"));
    let sheet = app
        .web_post_form(
            &format!("/findings/{finding}/retrieval-codes"),
            &keller,
            &[("csrf", &app.web_csrf(&keller).await), ("valid_days", "3")],
        )
        .await;
    assert_eq!(sheet.status(), StatusCode::OK);
    assert!(
        sheet.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let code = code_on_sheet(&sheet.bytes().await.unwrap());
    // A wrong CSRF token issues nothing.
    let before = app.count("SELECT COUNT(*) FROM retrieval_codes").await;
    let forged = app
        .web_post_form(
            &format!("/findings/{finding}/retrieval-codes"),
            &keller,
            &[("csrf", "nope")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM retrieval_codes").await,
        before
    );

    // The public page, pre-filled from the QR code's link.
    let form = app
        .client
        .get(format!("{}/retrieve?code={code}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let cookie = form.headers()["set-cookie"].to_str().unwrap().to_owned();
    let csrf = cookie
        .split(';')
        .next()
        .unwrap()
        .split('=')
        .nth(1)
        .unwrap()
        .to_owned();
    let html = form.text().await.unwrap();
    let field = crate::helpers::hidden_csrf(&html);
    assert!(
        html.contains(&code)
            && html.contains("Retrieve a finding")
            && !html.contains("Befund abrufen"),
        "one language, English without a preference"
    );
    let german_date = "02.03.1978";
    let result = app
        .client
        .post(format!("{}/retrieve", app.url))
        .header("cookie", format!("hippo_login_csrf={csrf}"))
        .form(&[
            ("csrf", field.as_str()),
            ("code", &code),
            ("date_of_birth", german_date),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(result.status(), StatusCode::OK);
    let html = result.text().await.unwrap();
    let start = html.find("/retrieve/pdf/").unwrap();
    let link: String = html[start..].chars().take_while(|c| *c != '"').collect();
    let pdf = app
        .client
        .get(format!("{}{link}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    let again = app
        .client
        .get(format!("{}{link}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);

    // Staff revoke on the finding page.
    let id: String = sqlx::query(
        "SELECT id FROM retrieval_codes WHERE finding_id = $1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(&finding)
    .fetch_one(&app.db)
    .await
    .unwrap()
    .get(0);
    let revoke = app
        .web_post_form(
            &format!("/retrieval-codes/{id}/revoke"),
            &keller,
            &[("csrf", &app.web_csrf(&keller).await)],
        )
        .await;
    assert_eq!(revoke.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        revoke.headers()["location"].to_str().unwrap(),
        format!("/findings/{finding}")
    );
    let html = app
        .web_get(&format!("/findings/{finding}"), &keller)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("revoked"));
}

/// Many clients at once: one code hammered with wrong birth dates, four
/// others opened by many and mistyped by a few, all at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_attempts_are_answered_and_counted_exactly() {
    let app = spawn_app().await;
    let keller = app.login("a.keller").await;
    // Findings of three Labor Nord patients, with their dates of birth.
    let mut owned: Vec<(String, &str)> = Vec::new();
    for (who, birth) in [
        ("max.schmidt", MAX_BIRTH_DATE),
        ("sophie.wagner", "1991-11-23"),
        ("jonas.becker", "1985-06-30"),
    ] {
        for f in app.user(who).finding_ids {
            owned.push((f.to_string(), birth));
        }
    }
    owned.truncate(5);
    assert_eq!(owned.len(), 5);
    let findings: Vec<String> = owned.iter().map(|(f, _)| f.clone()).collect();
    let mut codes = Vec::new();
    for finding in &findings {
        codes.push(issue(&app, &keller, finding).await);
    }
    let birth = |i: usize| owned[i].1;
    const HAMMER: usize = 40;
    const RIGHT: usize = 50;
    const WRONG: usize = 4;
    // Round-robin over the codes, so that every code sees traffic all
    // the time: (code, wrong birth date?).
    let mut requests = Vec::new();
    for n in 0..HAMMER.max(RIGHT + WRONG) {
        if n < HAMMER {
            requests.push((0usize, true));
        }
        for c in 1..5 {
            if n < RIGHT + WRONG {
                // The wrong ones spread over the run.
                requests.push((c, n % 13 == 0 && n / 13 < WRONG));
            }
        }
    }
    assert_eq!(
        requests.iter().filter(|r| r.0 > 0 && r.1).count(),
        4 * WRONG
    );
    let total = requests.len();
    assert!(total >= 250);
    let answers = join_all(requests.iter().map(|&(c, wrong)| {
        let code = codes[c]["code"].as_str().unwrap().to_owned();
        let birth = if wrong { "1900-01-01" } else { birth(c) };
        let (client, url) = (app.client.clone(), app.url.clone());
        async move {
            let response = retrieve_at(&client, &url, &code, birth).await;
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            (c, wrong, status, body)
        }
    }))
    .await;
    let mut hammer_not_recognised = 0;
    let mut hammer_locked = 0;
    for (c, wrong, status, body) in &answers {
        match (*c, *wrong) {
            (0, _) => match *status {
                StatusCode::NOT_FOUND => hammer_not_recognised += 1,
                StatusCode::LOCKED => hammer_locked += 1,
                other => panic!("hammered code answered {other}: {body}"),
            },
            (_, true) => assert_eq!(*status, StatusCode::NOT_FOUND, "{body}"),
            (c, false) => {
                assert_eq!(*status, StatusCode::OK, "{body}");
                assert_eq!(
                    body["finding"]["id"],
                    findings[c].as_str(),
                    "its own finding"
                );
            }
        }
    }
    assert_eq!(hammer_not_recognised, 5, "exactly the limit was counted");
    assert_eq!(hammer_locked, HAMMER - 5);
    for (c, expected) in [(0, 5), (1, 4), (2, 4), (3, 4), (4, 4)] {
        let id = codes[c]["id"].as_str().unwrap();
        assert_eq!(failed_attempts(&app, id).await, expected, "code {c}");
    }
    let locked = retrieve(&app, codes[0]["code"].as_str().unwrap(), birth(0)).await;
    assert_eq!(locked.status(), StatusCode::LOCKED);
    // Every success was recorded, with its patient.
    let recorded = app
        .count(
            "SELECT COUNT(*) FROM audit_records WHERE actor_kind = 'code_holder' \
             AND action = 'retrieval_redeem' AND outcome = 'success' AND patient_id IS NOT NULL",
        )
        .await;
    assert_eq!(recorded, (4 * RIGHT) as i64);
}

/// PostgreSQL: the new tables are under row-level security like every
/// tenant table: a session set to another tenant sees none of the codes
/// or links, one without a setting sees nothing at all.
#[tokio::test]
async fn row_level_security_fences_retrieval_codes_on_postgresql() {
    let database = crate::helpers::postgres_database().await;
    let app = test_app().on_database(database.clone()).spawn().await;
    let demo = app.world.retrieval_codes[0].clone();
    let opened = retrieve(&app, &demo.code, &demo.date_of_birth).await;
    assert_eq!(opened.status(), StatusCode::OK);
    let other_tenant = app.world.tenants[1].id.to_string();
    let own_tenant = demo.tenant_id.to_string();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&database)
        .await
        .unwrap();
    let count = |tenant: Option<String>, table: &'static str| {
        let pool = pool.clone();
        async move {
            let mut conn = pool.acquire().await.unwrap();
            if let Some(tenant) = tenant {
                hippo_store::sql::set_visible_tenant(&mut conn, &tenant, false)
                    .await
                    .unwrap();
            } else {
                sqlx::query("RESET hippo.tenant")
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(demo.tenant_id.to_string())
                .fetch_one(&mut *conn)
                .await
                .unwrap()
                .get::<i64, _>(0)
        }
    };
    for table in ["retrieval_codes", "retrieval_pdf_tokens"] {
        assert!(count(Some(own_tenant.clone()), table).await >= 1, "{table}");
        assert_eq!(count(Some(other_tenant.clone()), table).await, 0, "{table}");
        assert_eq!(count(None, table).await, 0, "{table}");
    }
}
