//! The retrieval service switched off: for one tenant, that tenant's codes
//! and one-time PDF links answer 503 while other tenants' codes work, no
//! attempt is counted and no link is spent; everywhere, every code does.

use super::*;
use hippo_cli::demo::DemoRetrievalCode;

async fn redeem(app: &TestApp, code: &DemoRetrievalCode) -> Response {
    app.client
        .post(format!("{}/api/v1/retrieval", app.url))
        .json(&json!({"code": code.code, "date_of_birth": code.date_of_birth}))
        .send()
        .await
        .unwrap()
}

async fn fetch(app: &TestApp, path: &str) -> Response {
    app.client
        .get(format!("{}{path}", app.url))
        .send()
        .await
        .unwrap()
}

async fn failed_attempts(app: &TestApp, code: &DemoRetrievalCode) -> i64 {
    app.count(&format!(
        "SELECT failed_attempts FROM retrieval_codes WHERE finding_id = '{}'",
        code.finding_id
    ))
    .await
}

#[tokio::test]
async fn retrieval_switched_off_refuses_codes_of_its_scope_and_spends_nothing() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let codes = app.world.retrieval_codes.clone();
    let (own, other) = (&codes[0], &codes[1]);
    assert_ne!(own.tenant_id, other.tenant_id);

    // A one-time link opened while the service is on.
    let opened = redeem(&app, own).await;
    assert_eq!(opened.status(), StatusCode::OK);
    let link = opened.json::<Value>().await.unwrap()["pdf"]["url"]
        .as_str()
        .unwrap()
        .to_owned();

    switch_ok(&app, &f.operator, "retrieval", Some(own.tenant_id), "off").await;
    assert_json_off(redeem(&app, own).await, "code of the switched-off tenant").await;
    assert_json_off(fetch(&app, &link).await, "its one-time link").await;
    assert_eq!(redeem(&app, other).await.status(), StatusCode::OK);
    assert_eq!(failed_attempts(&app, own).await, 0);

    switch_ok(&app, &f.operator, "retrieval", Some(own.tenant_id), "on").await;
    // The link was not spent while refused: it works, once.
    let pdf = fetch(&app, &link).await;
    assert_eq!(pdf.status(), StatusCode::OK);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    assert_eq!(fetch(&app, &link).await.status(), StatusCode::NOT_FOUND);

    switch_ok(&app, &f.operator, "retrieval", None, "off").await;
    for code in [own, other] {
        assert_json_off(redeem(&app, code).await, "any code, off everywhere").await;
    }
    let page = app
        .client
        .get(format!("{}/retrieve", app.url))
        .send()
        .await
        .unwrap();
    assert_page_off(page, "the public retrieval page").await;
    switch_ok(&app, &f.operator, "retrieval", None, "on").await;
    assert_eq!(redeem(&app, other).await.status(), StatusCode::OK);
}
