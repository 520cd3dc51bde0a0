//! The app builder: maps every declared route (`declarations.rs`) to its
//! handler and builds the router from the declarations and nothing else. A
//! middleware hands each request its route's declaration; the `Authorized`
//! extractor refuses to run without one. This is the only module that
//! imports the handlers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};

use crate::api;
use crate::declarations::Surface;
use crate::declarations::{RouteSpec, declarations};
use crate::error::{ApiError, Failure, FhirError, Rejection, WebError};
use crate::extract::ActorSlot;
use crate::fhir;
use crate::probing::ProbeDetector;
use crate::state::AppState;
use crate::switchboard::Switchboard;
use crate::web;
use hippo_core::policy::Action;
use hippo_core::switches::Outage;

/// The handler of a declared route. `max_upload` sizes the body limit of
/// the upload routes; all other routes keep axum's small default. A
/// declaration without a handler is a wiring bug, found when the router is
/// built (every test and every start builds it).
#[allow(clippy::panic)] // start-up wiring check, not request handling
fn handler(
    spec: &RouteSpec,
    max_upload: usize,
    max_message: usize,
    hl7_limit: usize,
) -> MethodRouter<AppState> {
    // Multipart framing and the text parts come on top of the PDF itself.
    let upload_limit = DefaultBodyLimit::max(max_upload + 2 * 1024 * 1024);
    let message_limit = DefaultBodyLimit::max(max_message);
    #[rustfmt::skip]
    let handler = match (spec.method, spec.path) {
        ("POST", "/api/v1/auth/login") => post(api::auth::login),
        ("POST", "/api/v1/auth/login/second-factor") => post(api::auth::login_second_factor),
        ("POST", "/api/v1/auth/logout") => post(api::auth::logout),
        ("GET", "/api/v1/findings") => get(api::findings::list_own),
        ("GET", "/api/v1/findings/{id}") => get(api::findings::get),
        ("GET", "/api/v1/findings/{id}/pdf") => get(api::findings::pdf),
        ("POST", "/api/v1/findings/{id}/release") => post(api::findings::release),
        ("POST", "/api/v1/findings/{id}/retract") => post(api::findings::retract),
        ("GET", "/api/v1/patients") => get(api::patients::list),
        ("POST", "/api/v1/patients") => post(api::patients::create),
        ("GET", "/api/v1/patients/{id}") => get(api::patients::get),
        ("GET", "/api/v1/patients/{id}/findings") => get(api::patients::findings),
        ("POST", "/api/v1/patients/{id}/findings") => post(api::findings::upload).layer(upload_limit),
        ("POST", "/api/v1/hl7/oru") => post(api::hl7::oru).layer(DefaultBodyLimit::max(hl7_limit)),
        ("GET", "/api/v1/api-keys") => get(api::api_keys::list),
        ("POST", "/api/v1/api-keys") => post(api::api_keys::create),
        ("POST", "/api/v1/api-keys/{id}/revoke") => post(api::api_keys::revoke),
        ("GET", "/api/v1/tenants") => get(api::tenants::list),
        ("GET", "/api/v1/forensics/accesses") => get(api::forensics::accesses),
        ("GET", "/api/v1/forensics/blast-radius") => get(api::forensics::blast_radius),
        ("GET", "/api/v1/alerts") => get(api::alerts::list),
        ("GET", "/api/v1/access-log") => get(api::access_log::list),
        ("GET", "/api/v1/access-log/{id}/proof") => get(api::access_log::proof),
        ("GET", "/api/v1/openapi.json") => get(api::openapi::openapi_json),
        ("GET", "/api/v1/threads") => get(api::threads::list),
        ("POST", "/api/v1/threads") => post(api::threads::create),
        ("GET", "/api/v1/threads/{id}") => get(api::threads::get),
        ("POST", "/api/v1/threads/{id}/messages") => post(api::threads::post_message).layer(message_limit),
        ("POST", "/api/v1/threads/{id}/assign") => post(api::threads::assign),
        ("POST", "/api/v1/threads/{id}/close") => post(api::threads::close),
        ("POST", "/api/v1/threads/{id}/retract") => post(api::threads::retract),
        ("GET", "/api/v1/attachments/{id}") => get(api::threads::attachment),
        ("GET", "/") => get(web::home::home),
        ("GET", "/login") => get(web::login::form),
        ("GET", "/language") => get(web::language::switch),
        ("POST", "/login") => post(web::login::submit),
        ("GET", "/login/second-factor") => get(web::second_factor::form),
        ("POST", "/login/second-factor") => post(web::second_factor::submit),
        ("POST", "/logout") => post(web::login::logout),
        ("GET", "/findings") => get(web::findings::list_own),
        ("GET", "/findings/{id}") => get(web::findings::detail),
        ("GET", "/findings/{id}/pdf") => get(web::findings::pdf),
        ("POST", "/findings/{id}/release") => post(web::findings::release),
        ("POST", "/findings/{id}/retract") => post(web::findings::retract),
        ("GET", "/patients") => get(web::patients::list),
        ("POST", "/patients") => post(web::patients::create),
        ("GET", "/patients/{id}") => get(web::patients::detail),
        // Issue 12: one patient record's access log (tenant admins).
        ("GET", "/patients/{id}/access-log") => get(web::patient_access_log::show),
        ("GET", "/api/v1/patients/{id}/access-log") => get(api::patient_access_log::get),
        ("POST", "/patients/{id}/findings") => post(web::finding_upload::upload).layer(upload_limit),
        ("GET", "/tenants") => get(web::tenants::list),
        ("GET", "/alerts") => get(web::alerts::list),
        ("GET", "/forensics") => get(web::forensics::view),
        ("GET", "/incidents") => get(web::incidents::list),
        ("POST", "/incidents") => post(web::incidents::open_from_alert),
        ("GET", "/access-log") => get(web::access_log::list),
        ("GET", "/access-log/{id}/proof") => get(web::access_log::proof),
        ("GET", "/messages") => get(web::messages::list),
        ("GET", "/messages/new") => get(web::messages::new_form),
        ("POST", "/messages") => post(web::messages::create),
        ("GET", "/messages/{id}") => get(web::messages::detail),
        ("POST", "/messages/{id}/reply") => post(web::messages::reply).layer(message_limit),
        ("POST", "/messages/{id}/assign") => post(web::messages::assign),
        ("POST", "/messages/{id}/close") => post(web::messages::close),
        ("POST", "/messages/{id}/retract") => post(web::messages::retract),
        ("GET", "/attachments/{id}") => get(web::messages::attachment),
        ("GET", "/static/hippo.css") => get(web::assets::stylesheet),
        ("GET", "/api/v1/switches") => get(api::switches::list),
        ("POST", "/api/v1/switches") => post(api::switches::change),
        ("GET", "/switches") => get(web::switches::view),
        ("POST", "/switches") => post(web::switches::change),
        // Retrieval codes (issue 11)
        ("POST", "/api/v1/findings/{id}/retrieval-codes") => post(api::retrieval::issue),
        ("GET", "/api/v1/findings/{id}/retrieval-codes") => get(api::retrieval::list),
        ("POST", "/api/v1/retrieval-codes/{id}/revoke") => post(api::retrieval::revoke),
        ("POST", "/api/v1/retrieval") => post(api::retrieval::redeem),
        ("GET", "/api/v1/retrieval/pdf/{token}") => get(api::retrieval::pdf),
        ("POST", "/findings/{id}/retrieval-codes") => post(web::retrieval::issue),
        ("POST", "/retrieval-codes/{id}/revoke") => post(web::retrieval::revoke),
        ("GET", "/retrieve") => get(web::retrieval::form),
        ("POST", "/retrieve") => post(web::retrieval::submit),
        ("GET", "/retrieve/pdf/{token}") => get(web::retrieval::pdf),
        // Second-factor enrolment and account security (issue 12)
        ("POST", "/api/v1/auth/login/enrol/start") => post(api::enrolment::start),
        ("POST", "/api/v1/auth/login/enrol/finish") => post(api::enrolment::finish),
        ("GET", "/api/v1/account/security") => get(api::account::security),
        ("POST", "/api/v1/account/totp/start") => post(api::account::totp_start),
        ("POST", "/api/v1/account/totp/finish") => post(api::account::totp_finish),
        ("POST", "/api/v1/account/totp/remove") => post(api::account::totp_remove),
        ("POST", "/api/v1/account/recovery-codes") => post(api::account::recovery_codes),
        ("GET", "/login/enrol") => get(web::enrolment::form),
        ("POST", "/login/enrol") => post(web::enrolment::submit),
        ("GET", "/account/security") => get(web::account_security::view),
        ("POST", "/account/totp/start") => post(web::account_security::totp_start),
        ("POST", "/account/totp/finish") => post(web::account_security::totp_finish),
        ("POST", "/account/totp/remove") => post(web::account_security::totp_remove),
        ("POST", "/account/recovery-codes") => post(web::account_security::recovery_codes),
        // Staff management, API keys page, settings (issue 12)
        ("GET", "/api/v1/staff") => get(api::staff::list),
        ("POST", "/api/v1/staff") => post(api::staff::create),
        ("POST", "/api/v1/staff/{id}/role") => post(api::staff::change_role),
        ("POST", "/api/v1/staff/{id}/deactivate") => post(api::staff::deactivate),
        ("POST", "/api/v1/staff/{id}/reactivate") => post(api::staff::reactivate),
        ("GET", "/api/v1/settings") => get(api::settings::get),
        ("POST", "/api/v1/settings") => post(api::settings::change),
        ("GET", "/staff") => get(web::staff::list),
        ("POST", "/staff") => post(web::staff::create),
        ("POST", "/staff/{id}/role") => post(web::staff::change_role),
        ("POST", "/staff/{id}/deactivate") => post(web::staff::deactivate),
        ("POST", "/staff/{id}/reactivate") => post(web::staff::reactivate),
        ("GET", "/api-keys") => get(web::api_keys::list),
        ("POST", "/api-keys") => post(web::api_keys::create),
        ("POST", "/api-keys/{id}/revoke") => post(web::api_keys::revoke),
        ("GET", "/settings") => get(web::settings::view),
        ("POST", "/settings") => post(web::settings::change),
        ("GET", "/invitation") => get(web::invitation::form),
        ("POST", "/invitation") => post(web::invitation::submit),
        // Own sessions and password reset (issue 12)
        ("GET", "/api/v1/account/sessions") => get(api::account_sessions::list),
        ("POST", "/api/v1/auth/scoped-token") => post(api::scoped_tokens::issue),
        ("POST", "/api/v1/account/sessions/{id}/revoke") => post(api::account_sessions::revoke),
        ("POST", "/api/v1/account/sessions/revoke-others") => post(api::account_sessions::revoke_others),
        ("POST", "/api/v1/auth/password-reset") => post(api::password_reset::request),
        ("POST", "/api/v1/auth/password-reset/confirm") => post(api::password_reset::confirm),
        ("GET", "/account/sessions") => get(web::account_sessions::view),
        ("POST", "/account/sessions/{id}/revoke") => post(web::account_sessions::revoke),
        ("POST", "/account/sessions/revoke-others") => post(web::account_sessions::revoke_others),
        ("GET", "/password/forgot") => get(web::password_reset::forgot_form),
        ("POST", "/password/forgot") => post(web::password_reset::forgot_submit),
        ("GET", "/password/reset") => get(web::password_reset::reset_form),
        ("POST", "/password/reset") => post(web::password_reset::reset_submit),
        // Passkeys (issue 12)
        ("POST", "/api/v1/auth/login/passkey/challenge") => post(api::passkeys::login_challenge),
        ("POST", "/api/v1/auth/login/passkey") => post(api::passkeys::login),
        ("GET", "/api/v1/account/passkeys") => get(api::passkeys::list),
        ("POST", "/api/v1/account/passkeys") => post(api::passkeys::register),
        ("POST", "/api/v1/account/passkeys/register/challenge") => post(api::passkeys::register_challenge),
        ("POST", "/api/v1/account/passkeys/{id}/delete") => post(api::passkeys::delete),
        ("POST", "/login/passkey/challenge") => post(web::passkeys::login_challenge),
        ("POST", "/login/passkey") => post(web::passkeys::login),
        ("GET", "/account/passkeys") => get(web::passkeys::list),
        ("POST", "/account/passkeys") => post(web::passkeys::register),
        ("POST", "/account/passkeys/register/challenge") => post(web::passkeys::register_challenge),
        ("POST", "/account/passkeys/{id}/delete") => post(web::passkeys::delete),
        ("GET", "/static/passkeys.js") => get(web::passkeys::script),
        // FHIR R4 facade (issue 13)
        ("GET", "/fhir/r4/metadata") => get(fhir::handlers::metadata),
        ("GET", "/fhir/r4/Patient") => get(fhir::handlers::patient_search),
        ("GET", "/fhir/r4/Patient/{id}") => get(fhir::handlers::patient_read),
        ("GET", "/fhir/r4/DiagnosticReport") => get(fhir::handlers::report_search),
        ("GET", "/fhir/r4/DiagnosticReport/{id}") => get(fhir::handlers::report_read),
        ("GET", "/fhir/r4/Observation") => get(fhir::handlers::observation_search),
        ("GET", "/fhir/r4/Observation/{id}") => get(fhir::handlers::observation_read),
        ("GET", "/fhir/r4/DocumentReference") => get(fhir::handlers::document_search),
        ("GET", "/fhir/r4/DocumentReference/{id}") => get(fhir::handlers::document_read),
        ("GET", "/fhir/r4/Binary/{id}") => get(fhir::handlers::binary_read),
        ("GET", "/fhir/r4/Communication") => get(fhir::handlers::communication_search),
        ("GET", "/fhir/r4/Communication/{id}") => get(fhir::handlers::communication_read),
        ("GET", "/fhir/r4/AuditEvent") => get(fhir::handlers::audit_search),
        (method, path) => panic!("declared route {method} {path} has no handler"),
    };
    handler
}

#[derive(Clone)]
struct RouteContext {
    index: Arc<HashMap<(String, String), RouteSpec>>,
    probes: ProbeDetector,
    switches: Switchboard,
}

/// A service switched off everywhere stops its routes before anything
/// else runs, anonymous ones included. Login is judged by the login flow
/// once it knows who logs in (operators are never locked out); scoped
/// switches by the extractor and the patient scope.
fn switched_off_everywhere(switches: &Switchboard, spec: &RouteSpec) -> Option<Outage> {
    if spec.action == Action::Login {
        return None;
    }
    switches
        .snapshot()
        .everywhere(spec.action.services())
        .cloned()
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
        Some(spec) if let Some(outage) = switched_off_everywhere(&context.switches, &spec) => {
            Rejection {
                failure: Failure::ServiceOff(outage),
                surface: spec.surface,
            }
            .into_response()
        }
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
        None => not_found(request.uri().path()),
    }
}

/// "Not found" in the way of the path's surface.
fn not_found(path: &str) -> Response {
    match Surface::of_path(path) {
        Surface::Api => ApiError(Failure::NotFound).into_response(),
        Surface::Web => WebError(Failure::NotFound).into_response(),
        Surface::Fhir => FhirError(Failure::NotFound).into_response(),
    }
}

async fn fallback(request: Request) -> Response {
    not_found(request.uri().path())
}

/// The application router, without transport layers. This is the only
/// place where routes are registered.
pub fn router(
    max_upload: usize,
    max_message: usize,
    hl7_limit: usize,
    probes: ProbeDetector,
    switches: Switchboard,
    form_guard: crate::web::form_guard::FormGuard,
) -> Router<AppState> {
    let specs = declarations();
    let context = RouteContext {
        index: Arc::new(
            specs
                .iter()
                .map(|s| ((s.method.to_owned(), s.path.to_owned()), *s))
                .collect(),
        ),
        probes,
        switches,
    };
    let mut router = Router::new();
    for spec in &specs {
        router = router.route(spec.path, handler(spec, max_upload, max_message, hl7_limit));
    }
    router
        // Runs inside `attach_spec`, so it knows the route's declaration.
        .route_layer(middleware::from_fn_with_state(
            form_guard,
            crate::web::form_guard::guard,
        ))
        .route_layer(middleware::from_fn_with_state(context, attach_spec))
        .fallback(fallback)
        .layer(middleware::from_fn(crate::i18n::with_language))
}
