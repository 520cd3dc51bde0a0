//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::patient_access_log;
use crate::api::{access_log, alerts, api_keys, auth, findings, forensics, hl7};
use crate::api::{account, enrolment};
use crate::api::{account_sessions, password_reset};
use crate::api::{passkeys, patients, retrieval, switches, tenants, threads};
use crate::api::{scoped_tokens, settings, staff};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every operation's ID from its method and path, e.g.
/// `get_findings_by_id_pdf`: utoipa takes the handler's name, and many
/// modules have a `list` or a `get`; clients and schemathesis need them
/// unique (issue 13).
struct OperationIds;

impl Modify for OperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let words = operation_words(path);
            let operations = [
                ("get", item.get.as_mut()),
                ("post", item.post.as_mut()),
                ("put", item.put.as_mut()),
                ("delete", item.delete.as_mut()),
                ("patch", item.patch.as_mut()),
            ];
            for (method, operation) in operations {
                if let Some(operation) = operation {
                    operation.operation_id = Some(format!("{method}_{words}"));
                }
            }
        }
    }
}

/// Every error answer is the one JSON shape (`error.rs` maps every failure
/// in one place, load shedding and body limits included), so each
/// operation documents it as its `default` response: clients and
/// schemathesis then know the body of a 401, 404, 422 or 429 that the
/// operation does not list one by one.
struct ErrorDefault;

impl Modify for ErrorDefault {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = ResponseBuilder::new()
            .description("any other answer: an error, `{\"error\": {\"code\", \"message\"}}`")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
            ];
            for operation in operations.into_iter().flatten() {
                operation
                    .responses
                    .responses
                    .entry("default".to_owned())
                    .or_insert_with(|| error.clone().into());
            }
        }
    }
}

/// `/api/v1/findings/{id}/retrieval-codes` → `findings_by_id_retrieval_codes`.
fn operation_words(path: &str) -> String {
    path.trim_start_matches("/api/v1/")
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => format!("by_{name}"),
                None => segment.replace(['-', '.'], "_"),
            },
        )
        .collect::<Vec<_>>()
        .join("_")
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Hippo API", description = "Findings and messaging portal for medical facilities and their patients."),
    paths(
        auth::login, auth::login_second_factor, auth::logout,
        findings::list_own, findings::get, findings::pdf, findings::upload,
        findings::release, findings::retract,
        patients::list, patients::create, patients::get, patients::findings,
        api_keys::list, api_keys::create, api_keys::revoke,
        tenants::list,
        access_log::list, access_log::proof,
        forensics::accesses, forensics::blast_radius,
        alerts::list,
        threads::list, threads::create, threads::get, threads::post_message,
        threads::assign, threads::close, threads::retract, threads::attachment,
        switches::list, switches::change,
        openapi_json,
        retrieval::issue, retrieval::list, retrieval::revoke,
        retrieval::redeem, retrieval::pdf,
        patient_access_log::get,
        enrolment::start, enrolment::finish,
        account::security, account::totp_start, account::totp_finish,
        account::totp_remove, account::recovery_codes,
        staff::list, staff::create, staff::change_role, staff::deactivate, staff::reactivate,
        settings::get, settings::change,
        // Sessions and password reset (issue 12)
        account_sessions::list, account_sessions::revoke, account_sessions::revoke_others,
        password_reset::request, password_reset::confirm,
        passkeys::list, passkeys::register_challenge, passkeys::register, passkeys::delete,
        passkeys::login_challenge, passkeys::login,
        scoped_tokens::issue,
        // HL7 v2 intake (issue 13)
        hl7::oru,
    ),
    // The password step's other 202 answer (staff and operators without a
    // second factor), described there.
    components(schemas(auth::EnrolmentRequired)),
    modifiers(&BearerAuth, &OperationIds, &ErrorDefault),
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
