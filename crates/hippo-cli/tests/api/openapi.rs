//! The OpenAPI document covers every API route of the route table.

use hippo_server::declarations::Surface;
use hippo_server::declarations::declarations as specs;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

/// The OpenAPI document as the server serves it.
async fn served_document(app: &TestApp) -> Value {
    app.client
        .get(format!("{}/api/v1/openapi.json", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn openapi_document_covers_every_api_route() {
    let app = spawn_app().await;
    let doc = served_document(&app).await;
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

/// Issue 13 point 5: clients and schemathesis need every operation ID once,
/// and parameters where they are sent: `in: path` exactly for the path
/// template's names, query strings `in: query`.
#[tokio::test]
async fn openapi_operation_ids_are_unique_and_parameters_sit_where_they_are_sent() {
    let app = spawn_app().await;
    let doc = served_document(&app).await;
    let mut ids = std::collections::BTreeMap::<String, Vec<String>>::new();
    let mut problems = Vec::new();
    let mut query_parameters = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let template: std::collections::BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap_or_default();
            ids.entry(id.to_owned())
                .or_default()
                .push(format!("{method} {path}"));
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let in_path: std::collections::BTreeSet<&str> = parameters
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            if in_path != template {
                problems.push(format!("{method} {path}: in path {in_path:?}"));
            }
            query_parameters += parameters.iter().filter(|p| p["in"] == "query").count();
        }
    }
    let repeated: Vec<_> = ids
        .iter()
        .filter(|(id, at)| id.is_empty() || at.len() > 1)
        .collect();
    assert!(
        repeated.is_empty(),
        "operation IDs missing or repeated: {repeated:?}"
    );
    assert!(problems.is_empty(), "{problems:#?}");
    // The forensic queries, the inbox filters and the retrieval-code options.
    assert!(
        query_parameters >= 30,
        "{query_parameters} query parameters"
    );
    assert_eq!(
        doc["paths"]["/api/v1/findings/{id}/pdf"]["get"]["operationId"],
        "get_findings_by_id_pdf"
    );
}
