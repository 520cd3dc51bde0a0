//! The route table: every HTTP route, web and API, declared once with the
//! action it performs and the resource kind it touches. The router is built
//! from this table and nothing else, and a middleware hands each request its
//! route's declaration; the `Authorized` extractor refuses to run without one.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use hippo_core::PrincipalKind;
use hippo_core::policy::{Action, ResourceKind};

use crate::api;
use crate::error::{ApiError, Failure, Surface, WebError};
use crate::extract::ActorSlot;
use crate::probing::ProbeDetector;
use crate::state::AppState;
use crate::web;

/// Whether a route addresses one object (by ID) or a collection. Role
/// denials on item routes answer 404, exactly like a missing object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Collection,
    Item,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub action: Action,
    pub resource: ResourceKind,
    /// The principal kinds that may call the route at all (empty for
    /// anonymous routes). Checked against the Cedar policy at start-up.
    pub allowed: &'static [PrincipalKind],
    pub surface: Surface,
    pub target: Target,
}

pub struct Route {
    pub spec: RouteSpec,
    pub handler: MethodRouter<AppState>,
}

fn route(
    method: &'static str,
    path: &'static str,
    (action, resource): (Action, ResourceKind),
    allowed: &'static [PrincipalKind],
    handler: MethodRouter<AppState>,
) -> Route {
    let surface = if path.starts_with("/api/") {
        Surface::Api
    } else {
        Surface::Web
    };
    let target = if path.contains('{') {
        Target::Item
    } else {
        Target::Collection
    };
    Route {
        spec: RouteSpec {
            method,
            path,
            action,
            resource,
            allowed,
            surface,
            target,
        },
        handler,
    }
}

use PrincipalKind::{Assistant, Clinician, LabSystem, Operator, Patient, TenantAdmin};

const ANONYMOUS: &[PrincipalKind] = &[];
const WITH_SESSION: &[PrincipalKind] = &[Operator, TenantAdmin, Clinician, Assistant, Patient];
const STAFF: &[PrincipalKind] = &[TenantAdmin, Clinician, Assistant];
const CLINICAL: &[PrincipalKind] = &[Clinician, Assistant];
const SUBMITTERS: &[PrincipalKind] = &[Clinician, Assistant, LabSystem];
const READERS: &[PrincipalKind] = &[TenantAdmin, Clinician, Assistant, Patient];
const PATIENTS: &[PrincipalKind] = &[Patient];
const ADMINS: &[PrincipalKind] = &[TenantAdmin];
const OPERATORS: &[PrincipalKind] = &[Operator];

/// Every route Hippo serves. `max_upload` sizes the body limit of the
/// upload routes; all other routes keep axum's small default.
pub fn table(max_upload: usize) -> Vec<Route> {
    use Action as A;
    use ResourceKind as R;
    // Multipart framing and the text parts come on top of the PDF itself.
    let upload_limit = DefaultBodyLimit::max(max_upload + 2 * 1024 * 1024);
    #[rustfmt::skip]
    let routes = vec![
        // JSON API
        route("POST", "/api/v1/auth/login", (A::Login, R::Session), ANONYMOUS, post(api::auth::login)),
        route("POST", "/api/v1/auth/logout", (A::Logout, R::Session), WITH_SESSION, post(api::auth::logout)),
        route("GET", "/api/v1/findings", (A::OwnFindingsList, R::Finding), PATIENTS, get(api::findings::list_own)),
        route("GET", "/api/v1/findings/{id}", (A::FindingRead, R::Finding), READERS, get(api::findings::get)),
        route("GET", "/api/v1/findings/{id}/pdf", (A::FindingPdfDownload, R::FindingPdf), READERS, get(api::findings::pdf)),
        route("POST", "/api/v1/findings/{id}/release", (A::FindingRelease, R::Finding), CLINICAL, post(api::findings::release)),
        route("POST", "/api/v1/findings/{id}/retract", (A::FindingRetract, R::Finding), CLINICAL, post(api::findings::retract)),
        route("GET", "/api/v1/patients", (A::PatientList, R::Patient), STAFF, get(api::patients::list)),
        route("POST", "/api/v1/patients", (A::PatientCreate, R::Patient), STAFF, post(api::patients::create)),
        route("GET", "/api/v1/patients/{id}", (A::PatientRead, R::Patient), STAFF, get(api::patients::get)),
        route("GET", "/api/v1/patients/{id}/findings", (A::PatientFindingsList, R::Patient), STAFF, get(api::patients::findings)),
        route("POST", "/api/v1/patients/{id}/findings", (A::FindingUpload, R::Finding), SUBMITTERS,
            post(api::findings::upload).layer(upload_limit)),
        route("GET", "/api/v1/api-keys", (A::ApiKeyList, R::ApiKey), ADMINS, get(api::api_keys::list)),
        route("POST", "/api/v1/api-keys", (A::ApiKeyCreate, R::ApiKey), ADMINS, post(api::api_keys::create)),
        route("POST", "/api/v1/api-keys/{id}/revoke", (A::ApiKeyRevoke, R::ApiKey), ADMINS, post(api::api_keys::revoke)),
        route("GET", "/api/v1/tenants", (A::TenantList, R::Tenant), OPERATORS, get(api::tenants::list)),
        route("GET", "/api/v1/forensics/accesses", (A::ForensicsQuery, R::AuditRecord), OPERATORS,
            get(api::forensics::accesses)),
        route("GET", "/api/v1/forensics/blast-radius", (A::ForensicsQuery, R::AuditRecord), OPERATORS,
            get(api::forensics::blast_radius)),
        route("GET", "/api/v1/alerts", (A::AlertList, R::AuditRecord), OPERATORS, get(api::alerts::list)),
        route("GET", "/api/v1/access-log", (A::AccessLogRead, R::AuditRecord), PATIENTS, get(api::access_log::list)),
        route("GET", "/api/v1/access-log/{id}/proof", (A::AccessProofRead, R::AuditRecord), PATIENTS,
            get(api::access_log::proof)),
        route("GET", "/api/v1/openapi.json", (A::Public, R::None), ANONYMOUS, get(api::openapi::openapi_json)),
        // Browser UI
        route("GET", "/", (A::ViewHome, R::None), WITH_SESSION, get(web::home::home)),
        route("GET", "/login", (A::Public, R::None), ANONYMOUS, get(web::login::form)),
        route("POST", "/login", (A::Login, R::Session), ANONYMOUS, post(web::login::submit)),
        route("POST", "/logout", (A::Logout, R::Session), WITH_SESSION, post(web::login::logout)),
        route("GET", "/findings", (A::OwnFindingsList, R::Finding), PATIENTS, get(web::findings::list_own)),
        route("GET", "/findings/{id}", (A::FindingRead, R::Finding), READERS, get(web::findings::detail)),
        route("GET", "/findings/{id}/pdf", (A::FindingPdfDownload, R::FindingPdf), READERS, get(web::findings::pdf)),
        route("POST", "/findings/{id}/release", (A::FindingRelease, R::Finding), CLINICAL, post(web::findings::release)),
        route("POST", "/findings/{id}/retract", (A::FindingRetract, R::Finding), CLINICAL, post(web::findings::retract)),
        route("GET", "/patients", (A::PatientList, R::Patient), STAFF, get(web::patients::list)),
        route("POST", "/patients", (A::PatientCreate, R::Patient), STAFF, post(web::patients::create)),
        route("GET", "/patients/{id}", (A::PatientFindingsList, R::Patient), STAFF, get(web::patients::detail)),
        route("POST", "/patients/{id}/findings", (A::FindingUpload, R::Finding), CLINICAL,
            post(web::patients::upload).layer(upload_limit)),
        route("GET", "/tenants", (A::TenantList, R::Tenant), OPERATORS, get(web::tenants::list)),
        route("GET", "/alerts", (A::AlertList, R::AuditRecord), OPERATORS, get(web::alerts::list)),
        route("GET", "/forensics", (A::ForensicsQuery, R::AuditRecord), OPERATORS, get(web::forensics::view)),
        route("GET", "/access-log", (A::AccessLogRead, R::AuditRecord), PATIENTS, get(web::access_log::list)),
        route("GET", "/access-log/{id}/proof", (A::AccessProofRead, R::AuditRecord), PATIENTS,
            get(web::access_log::proof)),
        route("GET", "/static/hippo.css", (A::Public, R::None), ANONYMOUS, get(web::assets::stylesheet)),
    ];
    routes
}

/// The declarations alone, for tests and documentation.
pub fn specs() -> Vec<RouteSpec> {
    table(0).into_iter().map(|r| r.spec).collect()
}

#[derive(Clone)]
struct RouteContext {
    index: Arc<HashMap<(String, String), RouteSpec>>,
    probes: ProbeDetector,
}

/// Hand the matched route's declaration to the request, and count the
/// not-found answers of authenticated callers towards probing. HEAD is
/// served by GET handlers and inherits their declaration.
async fn attach_spec(
    State(context): State<RouteContext>,
    matched: Option<MatchedPath>,
    mut request: Request,
    next: Next,
) -> Response {
    let index = &context.index;
    let method = if request.method() == Method::HEAD {
        "GET".to_owned()
    } else {
        request.method().as_str().to_owned()
    };
    let spec = matched.and_then(|m| index.get(&(method, m.as_str().to_owned())).copied());
    match spec {
        Some(spec) => {
            let slot = ActorSlot::default();
            request.extensions_mut().insert(spec);
            request.extensions_mut().insert(slot.clone());
            let response = next.run(request).await;
            if response.status() == axum::http::StatusCode::NOT_FOUND
                && let Ok(actor) = slot.0.lock()
                && let Some(actor) = actor.as_deref()
            {
                context.probes.record_miss(actor);
            }
            response
        }
        // Unreachable for routes built from the table; fail closed.
        None => ApiError(Failure::NotFound).into_response(),
    }
}

async fn fallback(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        ApiError(Failure::NotFound).into_response()
    } else {
        WebError(Failure::NotFound).into_response()
    }
}

/// The application router, without transport layers. This is the only
/// place where routes are registered.
pub fn router(max_upload: usize, probes: ProbeDetector) -> Router<AppState> {
    let routes = table(max_upload);
    let context = RouteContext {
        index: Arc::new(
            routes
                .iter()
                .map(|r| ((r.spec.method.to_owned(), r.spec.path.to_owned()), r.spec))
                .collect(),
        ),
        probes,
    };
    let mut router = Router::new();
    for r in routes {
        router = router.route(r.spec.path, r.handler);
    }
    router
        .route_layer(middleware::from_fn_with_state(context, attach_spec))
        .fallback(fallback)
}
