//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{access_log, alerts, api_keys, auth, findings, forensics};
use crate::api::{passkeys, patients, retrieval, switches, tenants, threads};

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
        passkeys::list, passkeys::register_challenge, passkeys::register, passkeys::delete,
        passkeys::login_challenge, passkeys::login,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
