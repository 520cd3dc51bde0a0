//! The MLLP listener (`hippo serve --mllp ADDR`): HL7 v2 messages over
//! TCP, framed `0x0B … 0x1C 0x0D` (`hippo_hl7::mllp`), each answered with
//! its ACK on the same connection. Bounded everywhere (invariant 11):
//! connections, messages being stored, frame size, idle and frame
//! timeouts; when full it answers AR "busy" at once instead of queueing.
//!
//! A connection authenticates once: with the API key the listener is
//! bound to, or with the key in its first message's MSH-8. The key is
//! checked once per connection (a SHA-256 lookup), not per message; a
//! revoked key takes effect on the next connection. A bad key is
//! audited, answered AR and the connection closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hippo_core::Principal;
use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_hl7::AckCode;
use hippo_hl7::mllp::{FrameDecoder, FrameError, frame};
use hippo_hl7::oru::Header;
use secrecy::ExposeSecret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::auth::token::{hash_token, is_well_formed_api_key};
use crate::config::MllpConfig;
use crate::error::Failure;
use crate::extract::action_switched_off;
use crate::hl7_group::GroupWriter;
use crate::hl7_intake::{
    Acknowledgement, acknowledge, answer, header_of, parse, rejected, to_lab_intake,
};
use crate::scope::Scope;
use crate::state::AppState;

/// The route name MLLP accesses carry in the audit log.
pub const MLLP_ROUTE: &str = "MLLP ORU^R01";
/// Connections refused for being over the limit still get their "busy"
/// answer from a few tasks; past those, they are closed at once.
const REFUSERS: usize = 16;
const READ_CHUNK: usize = 16 * 1024;

struct Listener {
    state: AppState,
    config: MllpConfig,
    max_frame: usize,
    connections: Arc<Semaphore>,
    refusers: Arc<Semaphore>,
    in_flight: Arc<Semaphore>,
    writer: GroupWriter,
}

/// Serve MLLP on `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, state: AppState, config: MllpConfig) {
    let max_frame = state.config().hl7.max_message_bytes;
    let shared = Arc::new(Listener {
        connections: Arc::new(Semaphore::new(config.max_connections.max(1))),
        refusers: Arc::new(Semaphore::new(REFUSERS)),
        in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
        writer: GroupWriter::spawn(config.max_in_flight),
        state,
        config,
        max_frame,
    });
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                tracing::warn!(error = %e, "mllp accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let listener = shared.clone();
        match shared.connections.clone().try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(async move {
                    listener.connection(stream, peer).await;
                    drop(permit);
                });
            }
            Err(_) => {
                if let Ok(permit) = shared.refusers.clone().try_acquire_owned() {
                    tokio::spawn(async move {
                        listener.refuse_busy(stream).await;
                        drop(permit);
                    });
                }
            }
        }
    }
}

/// Who a connection acts as, once authenticated.
enum Caller {
    Unknown,
    Lab(Principal),
}

impl Listener {
    fn origin(&self, peer: SocketAddr) -> RequestOrigin {
        RequestOrigin {
            request_id: uuid::Uuid::new_v4().simple().to_string(),
            route: Some(MLLP_ROUTE.into()),
            client_addr: Some(peer.ip().to_string()),
            user_agent: None,
        }
    }

    /// Over the connection limit: read the first frame briefly and
    /// answer it AR, then close.
    async fn refuse_busy(&self, mut stream: TcpStream) {
        let mut decoder = FrameDecoder::new(self.max_frame);
        let mut chunk = vec![0u8; READ_CHUNK];
        let deadline = Duration::from_secs(2);
        let answer = acknowledge(None, AckCode::Reject, "busy, retry later", None);
        let _ = tokio::time::timeout(deadline, async {
            loop {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if decoder.push(&chunk[..n]).is_err() {
                            break;
                        }
                        match decoder.next_frame() {
                            Ok(None) => continue,
                            Ok(Some(_)) | Err(_) => break,
                        }
                    }
                }
            }
            let _ = stream.write_all(&frame(answer.message.as_bytes())).await;
        })
        .await;
    }

    async fn connection(&self, mut stream: TcpStream, peer: SocketAddr) {
        let mut decoder = FrameDecoder::new(self.max_frame);
        let mut chunk = vec![0u8; READ_CHUNK];
        let mut caller = Caller::Unknown;
        loop {
            // Between frames a connection may idle; inside one, the rest
            // must come soon.
            let wait = if decoder.pending() == 0 {
                self.config.idle_timeout
            } else {
                self.config.frame_timeout
            };
            let n = match tokio::time::timeout(wait, stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
                Ok(Ok(n)) => n,
            };
            if let Err(e) = decoder.push(&chunk[..n]) {
                self.refuse_frame(&mut stream, e).await;
                return;
            }
            loop {
                let payload = match decoder.next_frame() {
                    Ok(Some(payload)) => payload,
                    Ok(None) => break,
                    Err(e) => {
                        self.refuse_frame(&mut stream, e).await;
                        return;
                    }
                };
                let (answer, keep_open) = self.message(&mut caller, &payload, peer).await;
                if stream
                    .write_all(&frame(answer.message.as_bytes()))
                    .await
                    .is_err()
                    || !keep_open
                {
                    let _ = stream.shutdown().await;
                    return;
                }
            }
        }
    }

    async fn refuse_frame(&self, stream: &mut TcpStream, error: FrameError) {
        let answer = acknowledge(None, AckCode::Reject, &error.to_string(), None);
        let _ = stream.write_all(&frame(answer.message.as_bytes())).await;
        let _ = stream.shutdown().await;
    }

    /// One message: authenticate the connection if it is not yet, store,
    /// acknowledge. The flag says whether the connection stays open.
    async fn message(
        &self,
        caller: &mut Caller,
        payload: &[u8],
        peer: SocketAddr,
    ) -> (Acknowledgement, bool) {
        let origin = self.origin(peer);
        let parsed = parse(payload);
        let header = header_of(&parsed).cloned();
        let principal = match caller {
            Caller::Lab(principal) => principal.clone(),
            Caller::Unknown => match self.authenticate(header.as_ref(), &origin).await {
                Ok(principal) => {
                    *caller = Caller::Lab(principal.clone());
                    principal
                }
                Err(answer) => return (answer, false),
            },
        };
        let Ok(_permit) = self.in_flight.clone().try_acquire_owned() else {
            return (
                acknowledge(header.as_ref(), AckCode::Reject, "busy, retry later", None),
                true,
            );
        };
        if let Some(outage) = action_switched_off(&self.state, Action::Hl7Intake, &principal) {
            let text = format!("service {} is switched off; retry later", outage.service);
            return (
                acknowledge(header.as_ref(), AckCode::Reject, &text, None),
                true,
            );
        }
        let gate = self.state.policy().gate(&principal);
        let Some(Scope::Staff(scope)) =
            self.state
                .scope_for(&principal, origin, gate, Action::Hl7Intake)
        else {
            return (
                acknowledge(header.as_ref(), AckCode::Reject, "not a lab system", None),
                false,
            );
        };
        let message = match parsed {
            Ok(message) => message,
            Err(rejection) => return (rejected(&rejection), true),
        };
        // The PDFs are drawn and sealed here, on this connection's task
        // (concurrently with the others); only the rows wait for the group.
        let lab_intake = to_lab_intake(&message, self.state.config().hl7.unmatched);
        let stored = match scope.prepare_hl7(lab_intake).await {
            Ok(prepared) => self.writer.store(scope, prepared).await,
            Err(e) => Err(e),
        };
        match answer(&message.header, stored) {
            Ok(answer) => (answer, true),
            Err(failure) => {
                let text = match &failure {
                    Failure::Overloaded(_)
                    | Failure::Unavailable(_)
                    | Failure::AuditUnavailable(_) => "temporarily unavailable, retry later",
                    Failure::NotFound | Failure::Forbidden => "not permitted for this lab system",
                    Failure::ServiceOff(_) => "service switched off; retry later",
                    _ => "internal error, retry later",
                };
                tracing::warn!(error = %hippo_store::chain(&failure), "mllp intake failed");
                (
                    acknowledge(Some(&message.header), AckCode::Reject, text, None),
                    true,
                )
            }
        }
    }

    /// The lab system behind the listener's key, or behind MSH-8.
    async fn authenticate(
        &self,
        header: Option<&Header>,
        origin: &RequestOrigin,
    ) -> Result<Principal, Acknowledgement> {
        let presented = match &self.config.api_key {
            Some(bound) => Some(bound.expose_secret().to_owned()),
            None => header
                .and_then(|h| h.security.as_ref())
                .map(|s| s.expose().to_owned()),
        };
        let found = match presented.as_deref() {
            Some(key) if is_well_formed_api_key(key) => self
                .state
                .sessions()
                .api_key_principal(&hash_token(key))
                .await
                .map_err(|e| {
                    tracing::warn!(error = %hippo_store::chain(&e), "mllp key lookup failed");
                    acknowledge(
                        header,
                        AckCode::Reject,
                        "temporarily unavailable, retry later",
                        None,
                    )
                })?,
            _ => None,
        };
        // A key limited to scopes (issue 13) must name the intake's
        // (`system/DiagnosticReport.write`), as on the HTTP route.
        let in_scope = |h: &hippo_store::KeyHolder| {
            crate::scope_grant::stored(h.scopes.as_deref())
                .is_none_or(|limit| limit.permits_action(Action::Hl7Intake))
        };
        match found {
            Some(
                holder @ hippo_store::KeyHolder {
                    principal: Principal::LabSystem { .. },
                    ..
                },
            ) if in_scope(&holder) => Ok(holder.principal),
            _ => {
                let event =
                    AuditEvent::new(Action::Hl7Intake, ResourceKind::Finding, Outcome::Denied)
                        .detail(format!("unauthenticated {MLLP_ROUTE}"));
                let recorded = self
                    .state
                    .audit_log()
                    .append(AuditActor::anonymous(), event, origin)
                    .await;
                let text = match recorded {
                    Ok(_) => "unknown, revoked or missing lab-system API key (MSH-8)",
                    // Fail closed: unrecorded, the refusal says only that.
                    Err(_) => "temporarily unavailable, retry later",
                };
                Err(acknowledge(header, AckCode::Reject, text, None))
            }
        }
    }
}
