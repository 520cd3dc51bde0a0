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
use hippo_core::policy::{Action, ResourceKind};

use crate::api;
use crate::error::{ApiError, Failure, Surface, WebError};
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
    action: Action,
    resource: ResourceKind,
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
            surface,
            target,
        },
        handler,
    }
}

/// Every route Hippo serves. `max_upload` sizes the body limit of the
/// upload routes; all other routes keep axum's small default.
pub fn table(max_upload: usize) -> Vec<Route> {
    use Action as A;
    use ResourceKind as R;
    // Multipart framing and the text parts come on top of the PDF itself.
    let upload_limit = DefaultBodyLimit::max(max_upload + 2 * 1024 * 1024);
    vec![
        // JSON API
        route(
            "POST",
            "/api/v1/auth/login",
            A::Login,
            R::Session,
            post(api::auth::login),
        ),
        route(
            "POST",
            "/api/v1/auth/logout",
            A::Logout,
            R::Session,
            post(api::auth::logout),
        ),
        route(
            "GET",
            "/api/v1/findings",
            A::OwnFindingsList,
            R::Finding,
            get(api::findings::list_own),
        ),
        route(
            "GET",
            "/api/v1/findings/{id}",
            A::FindingRead,
            R::Finding,
            get(api::findings::get),
        ),
        route(
            "GET",
            "/api/v1/findings/{id}/pdf",
            A::FindingPdfDownload,
            R::FindingPdf,
            get(api::findings::pdf),
        ),
        route(
            "POST",
            "/api/v1/findings/{id}/release",
            A::FindingRelease,
            R::Finding,
            post(api::findings::release),
        ),
        route(
            "POST",
            "/api/v1/findings/{id}/retract",
            A::FindingRetract,
            R::Finding,
            post(api::findings::retract),
        ),
        route(
            "GET",
            "/api/v1/patients",
            A::PatientList,
            R::Patient,
            get(api::patients::list),
        ),
        route(
            "POST",
            "/api/v1/patients",
            A::PatientCreate,
            R::Patient,
            post(api::patients::create),
        ),
        route(
            "GET",
            "/api/v1/patients/{id}",
            A::PatientRead,
            R::Patient,
            get(api::patients::get),
        ),
        route(
            "GET",
            "/api/v1/patients/{id}/findings",
            A::PatientFindingsList,
            R::Patient,
            get(api::patients::findings),
        ),
        route(
            "POST",
            "/api/v1/patients/{id}/findings",
            A::FindingUpload,
            R::Finding,
            post(api::findings::upload).layer(upload_limit),
        ),
        route(
            "GET",
            "/api/v1/openapi.json",
            A::Public,
            R::None,
            get(api::openapi::openapi_json),
        ),
        // Browser UI
        route("GET", "/", A::ViewHome, R::None, get(web::home::home)),
        route("GET", "/login", A::Public, R::None, get(web::login::form)),
        route(
            "POST",
            "/login",
            A::Login,
            R::Session,
            post(web::login::submit),
        ),
        route(
            "POST",
            "/logout",
            A::Logout,
            R::Session,
            post(web::login::logout),
        ),
        route(
            "GET",
            "/findings",
            A::OwnFindingsList,
            R::Finding,
            get(web::findings::list_own),
        ),
        route(
            "GET",
            "/findings/{id}",
            A::FindingRead,
            R::Finding,
            get(web::findings::detail),
        ),
        route(
            "GET",
            "/findings/{id}/pdf",
            A::FindingPdfDownload,
            R::FindingPdf,
            get(web::findings::pdf),
        ),
        route(
            "POST",
            "/findings/{id}/release",
            A::FindingRelease,
            R::Finding,
            post(web::findings::release),
        ),
        route(
            "POST",
            "/findings/{id}/retract",
            A::FindingRetract,
            R::Finding,
            post(web::findings::retract),
        ),
        route(
            "GET",
            "/patients",
            A::PatientList,
            R::Patient,
            get(web::patients::list),
        ),
        route(
            "POST",
            "/patients",
            A::PatientCreate,
            R::Patient,
            post(web::patients::create),
        ),
        route(
            "GET",
            "/patients/{id}",
            A::PatientFindingsList,
            R::Patient,
            get(web::patients::detail),
        ),
        route(
            "POST",
            "/patients/{id}/findings",
            A::FindingUpload,
            R::Finding,
            post(web::patients::upload).layer(upload_limit),
        ),
        route(
            "GET",
            "/static/hippo.css",
            A::Public,
            R::None,
            get(web::assets::stylesheet),
        ),
    ]
}

/// The declarations alone, for tests and documentation.
pub fn specs() -> Vec<RouteSpec> {
    table(0).into_iter().map(|r| r.spec).collect()
}

type SpecIndex = Arc<HashMap<(String, String), RouteSpec>>;

/// Hand the matched route's declaration to the request. HEAD is served by
/// GET handlers and inherits their declaration.
async fn attach_spec(
    State(index): State<SpecIndex>,
    matched: Option<MatchedPath>,
    mut request: Request,
    next: Next,
) -> Response {
    let method = if request.method() == Method::HEAD {
        "GET".to_owned()
    } else {
        request.method().as_str().to_owned()
    };
    let spec = matched.and_then(|m| index.get(&(method, m.as_str().to_owned())).copied());
    match spec {
        Some(spec) => {
            request.extensions_mut().insert(spec);
            next.run(request).await
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

/// The application router, without transport layers.
pub fn router(max_upload: usize) -> Router<AppState> {
    let routes = table(max_upload);
    let index: SpecIndex = Arc::new(
        routes
            .iter()
            .map(|r| ((r.spec.method.to_owned(), r.spec.path.to_owned()), r.spec))
            .collect(),
    );
    let mut router = Router::new();
    for r in routes {
        router = router.route(r.spec.path, r.handler);
    }
    router
        .route_layer(middleware::from_fn_with_state(index, attach_spec))
        .fallback(fallback)
}
