//! The accept loop and its bounds: how many connections are open at once,
//! how long a client may take to send its headers (and, for a keep-alive
//! connection, how long it may sit idle before its next request), how long
//! it may take to send a body, and how many requests are worked on at once.
//!
//! Written on hyper directly because `axum::serve` sets no timer, so a
//! socket that sends half a header would stay open for ever, and it has no
//! connection cap.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tower::ServiceExt;

use crate::error::{ApiError, Failure, FhirError, WebError};

/// Bounds on connections and concurrent work (see `ServerConfig`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open connections at most; further clients wait in the kernel's
    /// backlog until one closes. Capped below the process's file
    /// descriptor limit so the database and blob files always open.
    pub max_connections: usize,
    /// Time to send a request's headers; also how long an idle keep-alive
    /// connection is kept before it is closed.
    pub header_timeout: Duration,
    /// Time to send a request's body.
    pub body_timeout: Duration,
    /// Requests worked on at once; others queue...
    pub max_in_flight: usize,
    /// ...at most this long, then get 503 with Retry-After.
    pub admission_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            max_in_flight: 512,
            admission_wait: Duration::from_secs(2),
        }
    }
}

/// File descriptors kept free for the database, its WAL, blobs, key files
/// and the audit writer, whatever the clients do.
const RESERVED_DESCRIPTORS: usize = 64;

/// The process's soft limit on open files (Linux `/proc`; `None` elsewhere).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The connection cap actually used: the configured one, or less if the
/// descriptor limit would not leave room for the server's own files.
pub fn effective_max_connections(configured: usize) -> usize {
    match open_file_limit() {
        Some(limit) if limit.saturating_sub(RESERVED_DESCRIPTORS) < configured => {
            let capped = limit.saturating_sub(RESERVED_DESCRIPTORS).max(1);
            tracing::warn!(
                configured,
                capped,
                open_file_limit = limit,
                "connection cap lowered to fit the open-file limit"
            );
            capped
        }
        _ => configured,
    }
}

/// Admission control: at most `max_in_flight` requests are worked on; a
/// request that cannot start within `admission_wait` is shed with 503.
#[derive(Clone)]
pub(crate) struct Admission {
    permits: Arc<Semaphore>,
    wait: Duration,
}

impl Admission {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
            wait: limits.admission_wait,
        }
    }
}

pub(crate) async fn admit(
    State(admission): State<Admission>,
    request: Request,
    next: Next,
) -> Response {
    let permit = tokio::time::timeout(admission.wait, admission.permits.acquire_owned()).await;
    match permit {
        Ok(Ok(_permit)) => next.run(request).await,
        _ => {
            let failure = Failure::Overloaded(None);
            match crate::declarations::Surface::of_path(request.uri().path()) {
                crate::declarations::Surface::Api => ApiError(failure).into_response(),
                crate::declarations::Surface::Web => WebError(failure).into_response(),
                crate::declarations::Surface::Fhir => FhirError(failure).into_response(),
            }
        }
    }
}

/// Serve `app` on `listener` until `shutdown` fires, then let open requests
/// finish (at most [`DRAIN`] long).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(effective_max_connections(
        limits.max_connections,
    )));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit,
            _ = &mut shutdown => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors or memory, or a connection reset
                // before accept: pause briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = connection_service(app.clone(), peer);
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain period; closing them");
    }
    Ok(())
}

/// How long a stopping server waits for requests in progress.
const DRAIN: Duration = Duration::from_secs(10);

/// The app for one connection: every request learns the peer's address.
fn connection_service(
    app: Router,
    peer: SocketAddr,
) -> TowerToHyperService<
    impl tower::Service<
        hyper::Request<hyper::body::Incoming>,
        Response = Response,
        Error = std::convert::Infallible,
        Future = impl Send,
    > + Clone,
> {
    let service = tower::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request.map(axum::body::Body::new))
    });
    TowerToHyperService::new(service)
}
