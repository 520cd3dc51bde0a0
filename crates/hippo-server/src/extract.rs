//! Extractors that make authentication and authorisation impossible to
//! forget: a handler that needs data takes `Authorized`, which exists only
//! after the session was verified and the policy permitted the route's
//! action, and which carries the only handle to the caller's data.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use hippo_core::FindingId;
use hippo_core::Principal;
use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{AccessGate, Action, ResourceRef};
use hippo_core::switches::{Outage, Service};
use hippo_core::time_util::now_millis;
use hippo_store::{
    Admitted, AuditLog, FindingDetail, FindingPdf, OperatorScope, PatientScope, SessionSurface,
    SessionTimes, StaffScope,
};
use secrecy::{ExposeSecret, SecretString};

use crate::auth::csrf;
use crate::auth::token::{
    API_KEY_PREFIX, SESSION_COOKIE, SESSION_COOKIE_SECURE, hash_token, is_well_formed,
    is_well_formed_api_key,
};
use crate::declarations::{RouteSpec, Surface, Target};
use crate::error::{Failure, Rejection};
use crate::scope::Scope;
use crate::scope_grant::stored;
use crate::state::AppState;

/// Where the request came from, for the audit log.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub origin: RequestOrigin,
    pub client_ip: Option<IpAddr>,
}

const MAX_USER_AGENT: usize = 256;

impl FromRequestParts<AppState> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(MAX_USER_AGENT).collect::<String>())
        };
        let client_ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| {
            crate::client_addr::client_address(
                c.0.ip(),
                &parts.headers,
                &state.config().trusted_proxies,
            )
        });
        Ok(Self {
            origin: RequestOrigin {
                request_id: header("x-request-id").unwrap_or_default(),
                route: parts
                    .extensions
                    .get::<RouteSpec>()
                    .map(|s| format!("{} {}", s.method, s.path)),
                client_addr: client_ip.map(|ip| ip.to_string()),
                user_agent: header(USER_AGENT.as_str()),
            },
            client_ip,
        })
    }
}

pub struct Authorized {
    pub principal: Principal,
    pub origin: RequestOrigin,
    pub scope: Scope,
    spec: RouteSpec,
    session_token: SecretString,
    audit: AuditLog,
    gate: Arc<dyn AccessGate>,
}

/// Filled by `Authorized` with the actor's ID, read by the route middleware
/// after the response: not-found answers count towards probing.
#[derive(Clone, Default)]
pub struct ActorSlot(pub Arc<Mutex<Option<String>>>);

/// What the request presented: a session token or a lab-system API key,
/// as secrets whose `Debug` cannot show them.
enum Credential {
    Session(SecretString),
    ApiKey(SecretString),
}

fn route_spec(parts: &Parts) -> Result<RouteSpec, Rejection> {
    parts.extensions.get::<RouteSpec>().copied().ok_or_else(|| {
        // Every served route gets its spec from the route table; a missing
        // one is a wiring bug, and we fail closed.
        tracing::error!(path = %parts.uri.path(), "route without a declared action");
        Rejection {
            failure: Failure::Internal(None),
            surface: Surface::Api,
        }
    })
}

/// API clients send `Authorization: Bearer`; browsers send the cookie. Each
/// surface accepts only its own, so a cookie can never authorise an API
/// call (no CSRF on the API) and a leaked bearer token cannot drive forms.
fn credential(parts: &Parts, surface: Surface) -> Option<Credential> {
    let token = match surface {
        Surface::Api | Surface::Fhir => parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned()),
        Surface::Web => {
            let jar = CookieJar::from_headers(&parts.headers);
            jar.get(SESSION_COOKIE_SECURE)
                .or_else(|| jar.get(SESSION_COOKIE))
                .map(|c| c.value().to_owned())
        }
    };
    let token = SecretString::from(token?);
    let exposed = token.expose_secret();
    if surface != Surface::Web && exposed.starts_with(API_KEY_PREFIX) {
        return is_well_formed_api_key(exposed).then_some(Credential::ApiKey(token));
    }
    is_well_formed(exposed).then_some(Credential::Session(token))
}

impl FromRequestParts<AppState> for Authorized {
    type Rejection = Rejection;

    // Tokens pass through here: nothing of the request goes into the span.
    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Rejection> {
        let spec = route_spec(parts)?;
        let reject = |failure| Rejection {
            failure,
            surface: spec.surface,
        };
        let Ok(meta) = RequestMeta::from_request_parts(parts, state).await;
        let audit = state.audit_log();
        let times = SessionTimes {
            now: now_millis(),
            idle_timeout_ms: state.config().session_idle_timeout.as_millis() as i64,
        };
        let mut wrong_surface = false;
        let presented = credential(parts, spec.surface);
        let presented_session = matches!(presented, Some(Credential::Session(_)));
        let principal = match presented {
            Some(Credential::Session(token)) => {
                match state
                    .sessions()
                    .session_principal(&hash_token(token.expose_secret()), times)
                    .await
                    .map_err(|e| reject(e.into()))?
                {
                    // A token counts only where it was issued: an API
                    // login's token is no cookie, a cookie no bearer token.
                    Some(live) if live.surface != session_surface(spec.surface) => {
                        wrong_surface = true;
                        None
                    }
                    live => live.map(|l| (l.principal, token, stored(l.scopes.as_deref()))),
                }
            }
            Some(Credential::ApiKey(key)) => state
                .sessions()
                .api_key_principal(&hash_token(key.expose_secret()))
                .await
                .map_err(|e| reject(e.into()))?
                .map(|h| {
                    let limit = stored(h.scopes.as_deref());
                    (h.principal, SecretString::default(), limit)
                }),
            None => None,
        };
        let request_line = format!("{} {}", parts.method, parts.uri.path());
        // Record a refusal, then refuse; if the record cannot be written,
        // the answer is 503 instead (fail closed).
        let refuse = async |actor: AuditActor, outcome, detail: String, failure| {
            let event = AuditEvent::new(spec.action, spec.resource, outcome).detail(detail);
            match audit.append(actor, event, &meta.origin).await {
                Ok(_) => reject(failure),
                Err(e) => reject(e.into()),
            }
        };
        let Some((principal, token, limit)) = principal else {
            // Attempts without a valid session are denied attempts too.
            let detail = if wrong_surface {
                format!("unauthenticated wrong_surface {request_line}")
            } else {
                format!("unauthenticated {request_line}")
            };
            let anonymous = AuditActor::anonymous();
            let failure = match spec.surface {
                Surface::Api | Surface::Fhir => Failure::Unauthenticated,
                // A page sends the browser to the login, saying whether its
                // session ran out, and back here afterwards (issue 12).
                Surface::Web => Failure::SignInAgain {
                    expired: presented_session,
                    next: way_back(parts),
                },
            };
            return Err(refuse(anonymous, Outcome::Denied, detail, failure).await);
        };
        let actor_id = principal.actor_id();
        if let Some(slot) = parts.extensions.get::<ActorSlot>()
            && let Ok(mut slot) = slot.0.lock()
        {
            *slot = Some(actor_id.clone());
        }
        if state.probes().is_probing(&actor_id) {
            let actor = AuditActor::of(&principal);
            return Err(refuse(actor, Outcome::Probing, request_line, Failure::Probing).await);
        }
        if !route_admits(state, &spec, &principal) {
            // Item routes answer exactly like a missing object (invariant 3).
            let failure = match spec.target {
                Target::Collection => Failure::Forbidden,
                Target::Item => Failure::NotFound,
            };
            let actor = AuditActor::of(&principal);
            return Err(refuse(actor, Outcome::Denied, request_line, failure).await);
        }
        // A scoped credential (issue 13) reaches only the actions its
        // scopes name; it is refused like a route the role may not use.
        if let Some(limit) = &limit
            && !limit.permits(&spec)
        {
            let failure = match spec.target {
                Target::Collection => Failure::OutsideScope,
                Target::Item => Failure::NotFound,
            };
            let actor = AuditActor::of(&principal);
            let detail = format!("outside_scope {request_line}");
            return Err(refuse(actor, Outcome::Denied, detail, failure).await);
        }
        // Switched-off services are refused before the handler runs where
        // the tenant is known (staff, lab systems) or the switch applies
        // everywhere; a patient's objects are checked per tenant once
        // loaded, before they are admitted (`PatientScope`).
        if let Some(outage) = switched_off(state, &spec, &principal) {
            return Err(reject(Failure::ServiceOff(outage)));
        }
        if spec.surface == Surface::Web {
            crate::i18n::zone::show_dates_in(viewer_zone(state, &principal).await);
        }
        let gate = state.policy().gate(&principal);
        let scope = state
            .scope_for(&principal, meta.origin.clone(), gate.clone(), spec.action)
            .ok_or_else(|| reject(Failure::Internal(None)))?;
        Ok(Self {
            principal,
            origin: meta.origin,
            scope,
            spec,
            session_token: token,
            audit,
            gate,
        })
    }
}

/// The zone a viewer's pages show dates in (issue 12): staff their
/// facility's, operators UTC (pages name the zone), patients their one
/// facility's, or the default when they are patients of several (a page
/// of one finding switches to that finding's facility).
async fn viewer_zone(state: &AppState, principal: &Principal) -> jiff::tz::TimeZone {
    match principal {
        Principal::Operator { .. } => jiff::tz::TimeZone::UTC,
        Principal::Staff { tenant_id, .. } | Principal::LabSystem { tenant_id, .. } => {
            state.tenant_zone(*tenant_id).await
        }
        Principal::Patient { links, .. } => match links.first() {
            Some(first) if links.iter().all(|l| l.tenant_id == first.tenant_id) => {
                state.tenant_zone(first.tenant_id).await
            }
            _ => crate::i18n::format::time_zone(crate::i18n::format::DEFAULT_TIME_ZONE),
        },
    }
}

/// The page to return to after a login: only a GET (a form post cannot
/// be repeated by a redirect), and only a local path.
fn way_back(parts: &Parts) -> Option<String> {
    if parts.method != axum::http::Method::GET {
        return None;
    }
    let path = parts.uri.path_and_query()?.as_str();
    crate::auth::return_path::local_path(path).map(str::to_owned)
}

fn session_surface(surface: Surface) -> SessionSurface {
    match surface {
        Surface::Web => SessionSurface::Web,
        // A FHIR client presents the bearer token of an API login.
        Surface::Api | Surface::Fhir => SessionSurface::Api,
    }
}

/// The outage, if any, that stops this route for this caller: the
/// route's services, and for lab systems also `api`, switched off
/// everywhere or for the caller's tenant.
fn switched_off(state: &AppState, spec: &RouteSpec, principal: &Principal) -> Option<Outage> {
    action_switched_off(state, spec.action, principal)
}

/// The same for an action outside a route (the MLLP listener).
pub(crate) fn action_switched_off(
    state: &AppState,
    action: Action,
    principal: &Principal,
) -> Option<Outage> {
    let mut services = action.services().to_vec();
    if matches!(principal, Principal::LabSystem { .. }) {
        services.push(Service::Api);
    }
    if services.is_empty() {
        return None;
    }
    let board = state.switches().snapshot();
    match principal.staff_tenant() {
        Some(tenant) => board.for_tenant(&services, tenant),
        None => board.everywhere(&services),
    }
    .cloned()
}

/// The route-level fence: the principal's kind must be declared on the
/// route. Under the test-only policy bypass this fence is down too.
fn route_admits(state: &AppState, spec: &RouteSpec, principal: &Principal) -> bool {
    #[cfg(feature = "fence-bypass")]
    if state.config().bypass_policy_for_tests {
        return true;
    }
    let _ = state;
    spec.allowed.contains(&principal.kind())
}

impl Authorized {
    /// The staff handle; a non-staff caller here means the policy let a
    /// route through that the store does not serve, and the second fence
    /// answers "not found".
    pub fn staff(&self) -> Result<&StaffScope, Failure> {
        match &self.scope {
            Scope::Staff(s) => Ok(s),
            _ => Err(Failure::NotFound),
        }
    }

    pub fn patient(&self) -> Result<&PatientScope, Failure> {
        match &self.scope {
            Scope::Patient(p) => Ok(p),
            _ => Err(Failure::NotFound),
        }
    }

    pub fn operator(&self) -> Result<&OperatorScope, Failure> {
        match &self.scope {
            Scope::Operator(o) => Ok(o),
            _ => Err(Failure::NotFound),
        }
    }

    /// A finding with its values, through whichever scope the caller has.
    pub async fn finding(&self, id: FindingId) -> Result<Admitted<FindingDetail>, Failure> {
        match &self.scope {
            Scope::Staff(s) => Ok(s.finding(id).await?),
            Scope::Patient(p) => Ok(p.finding(id).await?),
            Scope::Operator(_) => Err(Failure::NotFound),
        }
    }

    /// A finding's PDF, through whichever scope the caller has.
    pub async fn finding_pdf(&self, id: FindingId) -> Result<Admitted<FindingPdf>, Failure> {
        match &self.scope {
            Scope::Staff(s) => Ok(s.finding_pdf(id).await?),
            Scope::Patient(p) => Ok(p.finding_pdf(id).await?),
            Scope::Operator(_) => Err(Failure::NotFound),
        }
    }

    /// Whether the policy allows `action` on an object the caller already
    /// sees (to show or hide a button, never to grant access).
    pub fn may(&self, action: Action, resource: &ResourceRef) -> bool {
        self.gate.permits(action, resource)
    }

    /// Parse an ID from the path. A malformed ID is answered exactly like an
    /// unknown one, and audited like one.
    pub async fn parse_id<T: std::str::FromStr>(&self, raw: &str) -> Result<T, Failure> {
        if let Ok(id) = raw.parse() {
            return Ok(id);
        }
        let shown: String = raw.chars().take(64).collect();
        let event = AuditEvent::new(self.spec.action, self.spec.resource, Outcome::NotFound)
            .resource(shown)
            .detail("malformed_id");
        self.audit
            .append(AuditActor::of(&self.principal), event, &self.origin)
            .await?;
        Err(Failure::NotFound)
    }

    pub fn csrf_token(&self) -> String {
        csrf::form_token(self.session_token.expose_secret())
    }

    pub fn verify_csrf(&self, submitted: &str) -> Result<(), Failure> {
        if csrf::verify(self.session_token.expose_secret(), submitted) {
            Ok(())
        } else {
            Err(Failure::CsrfMismatch)
        }
    }

    pub fn session_token(&self) -> &str {
        self.session_token.expose_secret()
    }
}
