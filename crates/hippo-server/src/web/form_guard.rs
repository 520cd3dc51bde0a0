//! The web surface's fence around form posts and its record of refusals.
//!
//! A browser tells where a form post comes from (`Sec-Fetch-Site`,
//! `Origin`); a post from another site is refused before any handler runs,
//! whatever cookies it carries. Clients that send neither (no browser)
//! still meet the form token. Every refusal on the way (cross-origin post,
//! CSRF mismatch, rejected upload) leaves an audit record with the route
//! and the outcome before the answer goes out (fail closed).

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hippo_core::audit::{AuditActor, AuditEvent, Outcome};
use hippo_store::AuditLog;

use crate::declarations::{RouteSpec, Surface};
use crate::error::{ApiError, Failure, Refused, WebError};
use crate::extract::RequestMeta;

#[derive(Clone)]
pub struct FormGuard {
    pub audit: AuditLog,
    /// For the client address (trusted proxies are configured there).
    pub state: crate::state::AppState,
    /// `scheme://host[:port]` of the configured public URL, if any.
    pub public_origin: Option<String>,
}

/// `scheme://host[:port]` of a URL, lowercased.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}").to_ascii_lowercase())
}

/// Whether the browser says this post comes from this site.
fn same_origin(guard: &FormGuard, request: &Request) -> bool {
    let header = |name| {
        request
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("\u{0}").to_ascii_lowercase())
    };
    if let Some(site) = header("sec-fetch-site") {
        return matches!(site.as_str(), "same-origin" | "none");
    }
    let Some(origin) = header(ORIGIN.as_str()) else {
        return true;
    };
    if guard.public_origin.as_deref() == Some(origin.as_str()) {
        return true;
    }
    let host = header(HOST.as_str()).unwrap_or_default();
    match origin.split_once("://") {
        Some(("http" | "https", authority)) => !host.is_empty() && authority == host,
        _ => false,
    }
}

fn is_form_post(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub async fn guard(State(guard): State<FormGuard>, request: Request, next: Next) -> Response {
    let Some(spec) = request.extensions().get::<RouteSpec>().copied() else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let Ok(meta) = RequestMeta::from_request_parts(&mut parts, &guard.state).await;
    let request = Request::from_parts(parts, body);
    let line = format!("{} {}", request.method(), request.uri().path());
    if spec.surface == Surface::Web
        && is_form_post(request.method())
        && !same_origin(&guard, &request)
    {
        let refused = refuse(
            &guard,
            &spec,
            &meta,
            "cross_origin_post",
            &line,
            Outcome::Denied,
        );
        return match refused.await {
            Ok(()) => answer(spec.surface, Failure::Forbidden),
            Err(failure) => answer(spec.surface, failure),
        };
    }
    let response = next.run(request).await;
    let reason = match (response.extensions().get::<Refused>(), response.status()) {
        (Some(Refused(reason)), _) => Some(*reason),
        (None, StatusCode::PAYLOAD_TOO_LARGE) => Some("upload_too_large"),
        (None, StatusCode::UNSUPPORTED_MEDIA_TYPE) => Some("upload_refused"),
        _ => None,
    };
    match reason {
        Some(reason) => {
            match refuse(&guard, &spec, &meta, reason, &line, Outcome::Rejected).await {
                Ok(()) => response,
                Err(failure) => answer(spec.surface, failure),
            }
        }
        None => response,
    }
}

async fn refuse(
    guard: &FormGuard,
    spec: &RouteSpec,
    meta: &RequestMeta,
    reason: &str,
    line: &str,
    outcome: Outcome,
) -> Result<(), Failure> {
    let event =
        AuditEvent::new(spec.action, spec.resource, outcome).detail(format!("{reason} {line}"));
    guard
        .audit
        .append(AuditActor::anonymous(), event, &meta.origin)
        .await?;
    Ok(())
}

fn answer(surface: Surface, failure: Failure) -> Response {
    match surface {
        Surface::Web => WebError(failure).into_response(),
        Surface::Api => ApiError(failure).into_response(),
        Surface::Fhir => crate::error::FhirError(failure).into_response(),
    }
}
