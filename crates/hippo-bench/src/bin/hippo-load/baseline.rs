//! `hippo-load serve-baseline`: the two comparison servers of the harness,
//! on one port, with the same runtime, accept loop and limits as `hippo
//! serve`:
//!
//! * **B** `GET /baseline/findings/{id}`: the same database read and JSON
//!   as `GET /api/v1/findings/{id}`, with no session, policy or audit;
//! * **C** `GET /bare`: a JSON answer with no database at all.
//!
//! A separate binary, so the `hippo` binary never contains an unaudited
//! read path.

use std::net::SocketAddr;
use std::path::Path;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hippo_core::FindingId;
use hippo_server::views::FindingView;
use hippo_store::Store;

async fn unaudited_finding(State(store): State<Store>, UrlPath(raw): UrlPath<String>) -> Response {
    let Ok(id) = raw.parse::<FindingId>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match store.internal_bench_unaudited_finding(id).await {
        Ok(Some(detail)) => Json(FindingView::from(&detail)).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn bare() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok", "service": "hippo-bench-bare"}))
}

pub async fn serve(data_dir: &Path, listen: SocketAddr) -> anyhow::Result<()> {
    let store = crate::world::open_store(data_dir).await?;
    let app = axum::Router::new()
        .route("/baseline/findings/{id}", get(unaudited_finding))
        .route("/bare", get(bare))
        .with_state(store);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let (_stop, stopped) = tokio::sync::oneshot::channel();
    hippo_server::serve::serve(
        listener,
        app,
        hippo_server::serve::Limits::default(),
        stopped,
    )
    .await?;
    Ok(())
}
