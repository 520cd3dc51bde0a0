//! Hippo's HTTP layer: the route table, extractors that authenticate and
//! authorise, handlers for the JSON API and the browser UI, and the one
//! mapping of failures to responses.

mod alerts;
pub mod api;
pub mod auth;
pub mod client_addr;
pub mod config;
pub mod conversations;
pub mod declarations;
pub mod error;
pub mod extract;
pub mod fhir;
pub mod hl7_group;
pub mod hl7_intake;
mod hl7_report;
pub mod i18n;
pub mod input;
// Issue 12 (facility upload form): the common LOINC list, the value rows.
pub mod loinc;
pub mod mllp;
#[cfg(test)]
mod module_graph;
pub mod pdf_page;
pub mod policy_check;
mod probing;
pub mod retrieval;
pub mod retrieval_sheet;
pub mod retrieval_texts;
mod routes;
pub mod value_rows;
// Notification e-mails from the outbox (issue 11).
pub mod notify;
pub mod own_sessions;
pub mod scope;
pub mod scope_grant;
pub mod serve;
pub mod state;
mod svg_text;
pub mod switchboard;
pub mod thread_views;
pub mod trend_chart;
pub mod upload;
pub mod views;
mod web;

use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use hippo_store::Store;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use config::ServerConfig;
pub use state::AppState;

use crate::error::Failure;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Headers on every response. Patient data must never be cached by a
/// browser or proxy, so `no-store` is the default; static assets override it.
/// Scripts only from our own files (WebAuthn), never inline; data: images
/// for inline SVG icons.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// HSTS when the browser reaches us over HTTPS: secure cookies or an https
/// public URL say so (TLS terminates in front of Hippo).
fn hsts_wanted(state: &AppState) -> bool {
    state.config().cookie_secure
        || state
            .config()
            .retrieval
            .public_url
            .as_deref()
            .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"))
}

fn with_security_headers(router: Router, hsts: bool) -> Router {
    let always = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    let mut router = router.layer(SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ));
    for (name, value) in always {
        router = router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    if hsts {
        router = router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    router
}

/// The complete application with its transport layers.
pub fn app(state: AppState) -> Router {
    let limits = state.config().limits;
    let messaging = state.config().messaging;
    // Framing and the text parts come on top of the attachments.
    let max_message = messaging.max_attachments * messaging.max_attachment_bytes + 2 * 1024 * 1024;
    let router = routes::router(
        state.config().max_upload_bytes,
        max_message,
        state.config().hl7.max_message_bytes,
        state.probes().clone(),
        state.switches().clone(),
        web::form_guard::FormGuard {
            audit: state.audit_log(),
            state: state.clone(),
            public_origin: state
                .config()
                .retrieval
                .public_url
                .as_deref()
                .and_then(web::form_guard::origin_of),
        },
    )
    .with_state(state.clone());
    with_security_headers(router, hsts_wanted(&state))
        .layer(axum::middleware::from_fn_with_state(
            serve::Admission::new(&limits),
            serve::admit,
        ))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            limits.body_timeout,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(axum::middleware::map_request(take_client_request_id))
}

/// What a client sent as `X-Request-ID`, cut to 64 characters of
/// `[A-Za-z0-9._:-]`: for the server log only. The audit log keeps the
/// server's own ID, so a client can neither forge nor repeat one there.
#[derive(Debug, Clone)]
pub struct ClientRequestId(pub String);

const MAX_CLIENT_REQUEST_ID: usize = 64;

async fn take_client_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    if let Some(sent) = request.headers_mut().remove(REQUEST_ID) {
        let kept: String = sent
            .as_bytes()
            .iter()
            .map(|&b| b as char)
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
            .take(MAX_CLIENT_REQUEST_ID)
            .collect();
        request.extensions_mut().insert(ClientRequestId(kept));
    }
    request
}

fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let header = |name: &HeaderName| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let client = request
        .extensions()
        .get::<ClientRequestId>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %header(&REQUEST_ID),
        client_request_id = %client,
    )
}

/// A server running in the background, as returned by [`start`].
pub struct RunningServer {
    pub addr: SocketAddr,
    /// The MLLP listener's address, when one was configured.
    pub mllp_addr: Option<SocketAddr>,
    mllp_listener: Option<tokio::task::JoinHandle<()>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    head_issuer: Option<tokio::task::JoinHandle<()>>,
    anomaly_watcher: tokio::task::JoinHandle<()>,
    notification_sender: Option<tokio::task::JoinHandle<()>>,
    switch_watcher: tokio::task::JoinHandle<()>,
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(listener) = self.mllp_listener.take() {
            listener.abort();
        }
        if let Some(issuer) = self.head_issuer.take() {
            issuer.abort();
        }
        self.anomaly_watcher.abort();
        if let Some(sender) = self.notification_sender.take() {
            sender.abort();
        }
        self.switch_watcher.abort();
    }
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting, finish in-flight requests, and return.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        joined(&mut self.task).await
    }

    /// Serve until ctrl-c / SIGTERM.
    pub async fn serve_until_signal(mut self) -> std::io::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down");
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        joined(&mut self.task).await
    }
}

/// The server task's own result; a task that panicked or was cancelled is
/// a failure too, never a clean stop.
async fn joined(task: &mut tokio::task::JoinHandle<std::io::Result<()>>) -> std::io::Result<()> {
    match task.await {
        Ok(result) => result,
        Err(e) => Err(std::io::Error::other(format!(
            "the server task ended abnormally: {e}"
        ))),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot initialise the server: {what}")]
    Init {
        what: &'static str,
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Policy(#[from] hippo_policy::PolicyError),
    #[error("the route table and the access policy disagree:\n{0}")]
    RouteTable(String),
    /// No master keys: there is no unencrypted mode to fall back to.
    #[error("envelope encryption is not ready")]
    Keys(#[source] hippo_store::StoreError),
}

/// A server never starts without its master keys (no unencrypted mode
/// exists), and seals PDFs that earlier versions kept in the database.
async fn prepare_vault(store: &Store) -> Result<(), StartError> {
    let vault = store.unscoped_vault();
    let current = vault.check_keyring().map_err(StartError::Keys)?;
    tracing::info!(master_key = %current, blobs = %vault.blobs().location, "envelope encryption ready");
    let moved = vault.seal_legacy_pdfs().await.map_err(StartError::Keys)?;
    if moved > 0 {
        tracing::info!(moved, "sealed PDFs from the database into the blob store");
    }
    Ok(())
}

/// Load the policy and check it against the route table.
fn load_policy(config: &ServerConfig) -> Result<hippo_policy::Policy, StartError> {
    let policy = hippo_policy::Policy::load()?;
    let problems = policy_check::disagreements(&policy, &declarations::declarations());
    if !problems.is_empty() {
        return Err(StartError::RouteTable(problems.join("\n")));
    }
    #[cfg(feature = "fence-bypass")]
    if config.bypass_policy_for_tests {
        return Ok(hippo_policy::Policy::bypassed_for_tests()?);
    }
    let _ = config;
    Ok(policy)
}

/// Bind (port 0 allowed) and serve in the background.
pub async fn start(store: Store, config: ServerConfig) -> Result<RunningServer, StartError> {
    let listen = config.listen;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: listen,
        source,
    })?;
    let policy = load_policy(&config)?;
    prepare_vault(&store).await?;
    let head_issuer = match &config.audit_key {
        Some(key) => Some(spawn_head_issuer(&store, key.clone(), &config).await?),
        None => None,
    };
    let anomaly_watcher = alerts::spawn(
        store.unscoped_anomalies(),
        config.anomaly_thresholds,
        config.anomaly_every,
        config.alert_webhook.clone(),
    );
    let notification_sender = match &config.notifications {
        Some(notify) => {
            let sender = notify::Sender::new(store.unscoped_outbox(), notify.clone())
                .map_err(|e| StartError::Init {
                    what: "notification sender",
                    cause: Box::new(e),
                })?
                .with_account_mails(store.unscoped_auth());
            tracing::info!(smtp = %notify.smtp_host, port = notify.smtp_port, "notification sender started");
            Some(notify::spawn(sender))
        }
        None => None,
    };
    let switches = switchboard::Switchboard::load(store.unscoped_switches())
        .await
        .map_err(|e| StartError::Init {
            what: "service switches",
            cause: Box::new(e),
        })?;
    let switch_watcher =
        switchboard::spawn_watcher(&store, switches.clone(), config.switch_poll_every).await;
    let state =
        AppState::new(store, config, policy, switches).map_err(|e: Failure| StartError::Init {
            what: "application state",
            cause: Box::new(e),
        })?;
    let limits = state.config().limits;
    let (mllp_addr, mllp_listener) = match state.config().hl7.mllp.clone() {
        Some(mllp) => {
            let bind = |source| StartError::Bind {
                addr: mllp.listen,
                source,
            };
            let listener = TcpListener::bind(mllp.listen).await.map_err(bind)?;
            let mllp_addr = listener.local_addr().map_err(bind)?;
            tracing::info!(addr = %mllp_addr, "MLLP listener for HL7 v2 started");
            let task = tokio::spawn(mllp::serve(listener, state.clone(), mllp));
            (Some(mllp_addr), Some(task))
        }
        None => (None, None),
    };
    let app = app(state);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve::serve(listener, app, limits, rx));
    Ok(RunningServer {
        addr,
        mllp_addr,
        mllp_listener,
        shutdown: Some(tx),
        task,
        head_issuer,
        anomaly_watcher,
        notification_sender,
        switch_watcher,
    })
}

/// Issue signed tree heads in the background for as long as the server runs.
async fn spawn_head_issuer(
    store: &Store,
    key: std::sync::Arc<hippo_audit::AuditSigningKey>,
    config: &ServerConfig,
) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let every = config.tree_head_every;
    let mut issuer = hippo_store::HeadIssuer::new(
        store.audit_log(),
        key,
        config.tree_head_every_records.max(1),
        every.as_millis() as i64,
    )
    .await
    .map_err(|e| StartError::Init {
        what: "tree-head issuer",
        cause: Box::new(e),
    })?;
    let tick = (every / 4).clamp(
        std::time::Duration::from_millis(20),
        std::time::Duration::from_secs(1),
    );
    Ok(tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        loop {
            interval.tick().await;
            if let Err(e) = issuer.tick(false).await {
                tracing::error!(error = ?e, "issuing a signed tree head failed");
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_server_task_that_panicked_is_reported_as_a_failure() {
        let mut panicked = tokio::spawn(async {
            #[allow(clippy::panic)]
            if std::hint::black_box(true) {
                panic!("boom");
            }
            Ok(())
        });
        let error = super::joined(&mut panicked).await.unwrap_err();
        assert!(error.to_string().contains("ended abnormally"), "{error}");
        let mut clean = tokio::spawn(async { Ok(()) });
        assert!(super::joined(&mut clean).await.is_ok());
    }

    #[test]
    fn failures_keep_their_cause_down_to_the_blob_store() {
        let gone = std::io::Error::other("bucket hippo-blobs: connection refused");
        let store = hippo_store::StoreError::BlobUnavailable(std::sync::Arc::new(gone));
        let failure = super::Failure::from(store);
        assert_eq!(failure.status().as_u16(), 503);
        let shown = hippo_store::chain(&failure);
        assert!(shown.contains("storage unavailable"), "{shown}");
        assert!(shown.contains("blob store unavailable"), "{shown}");
        assert!(shown.contains("connection refused"), "{shown}");
    }
}
