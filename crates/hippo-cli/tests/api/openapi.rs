//! The OpenAPI document covers every API route of the route table.

use hippo_server::declarations::Surface;
use hippo_server::declarations::declarations as specs;
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn openapi_document_covers_every_api_route() {
    let app = spawn_app().await;
    let doc: Value = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut covered = 0;
    for spec in specs().iter().filter(|s| s.surface == Surface::Api) {
        let method = spec.method.to_lowercase();
        assert!(
            doc["paths"][spec.path][&method].is_object(),
            "{} {} missing from the OpenAPI document",
            spec.method,
            spec.path
        );
        covered += 1;
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented, covered,
        "the document lists routes that are not served"
    );
}

#[test]
fn route_table_has_no_duplicates_and_every_route_declares_an_action() {
    let all = specs();
    let mut seen = std::collections::BTreeSet::new();
    for spec in &all {
        assert!(
            seen.insert((spec.method, spec.path)),
            "duplicate {} {}",
            spec.method,
            spec.path
        );
        assert!(spec.path.starts_with('/'));
    }
    assert!(all.len() >= 27);
}
