//! Building the request a route expects, for any caller and surface, so
//! that tests generated from the route table can call every route.

use hippo_core::policy::Action;
use hippo_server::declarations::RouteSpec;
use hippo_server::declarations::Surface;
use reqwest::{Response, multipart};
use serde_json::json;

use crate::helpers::{PDF, TestApp, finding_metadata, upload_form};

/// What a caller presents.
#[derive(Clone, Debug)]
pub enum Credential {
    /// A session token: bearer on the API, cookie in the browser.
    Session(String),
    /// A lab-system API key (API only).
    ApiKey(String),
}

impl Credential {
    fn csrf(&self) -> String {
        match self {
            Self::Session(token) => hippo_server::auth::csrf::form_token(token),
            Self::ApiKey(_) => String::new(),
        }
    }
}

/// Send `spec`'s request addressed at `id`, with a valid body for its action.
pub async fn send(app: &TestApp, spec: &RouteSpec, id: &str, credential: &Credential) -> Response {
    // A finding's values are the Observations `{finding}-{position}`.
    let path = if spec.path.starts_with("/fhir/r4/Observation/") {
        spec.path.replace("{id}", &format!("{id}-0"))
    } else {
        spec.path.replace("{id}", id)
    };
    // Forensic queries name their purpose (without one: 400).
    let purpose = match spec.action {
        Action::ForensicsQuery => "?reason=authorisation%20matrix",
        _ => "",
    };
    let url = format!("{}{path}{purpose}", app.url);
    let request = match spec.method {
        "GET" => app.client.get(url),
        _ => app.client.post(url),
    };
    let request = match (spec.surface, credential) {
        (Surface::Api | Surface::Fhir, Credential::Session(t) | Credential::ApiKey(t)) => {
            request.bearer_auth(t)
        }
        (Surface::Web, Credential::Session(t)) => {
            request.header("cookie", format!("hippo_session={t}"))
        }
        (Surface::Web, Credential::ApiKey(_)) => request,
    };
    if spec.method == "GET" {
        return request.send().await.unwrap();
    }
    let csrf = credential.csrf();
    let request = match (spec.surface, spec.action) {
        (Surface::Api, Action::FindingUpload) => {
            request.multipart(upload_form(&finding_metadata(), PDF))
        }
        (Surface::Web, Action::FindingUpload) => request.multipart(
            multipart::Form::new()
                .text("csrf", csrf)
                .text("title", "Blutbild")
                .text("row-0-code", "718-7")
                .text("row-0-value", "13,2")
                .part(
                    "pdf",
                    multipart::Part::bytes(PDF.to_vec()).file_name("r.pdf"),
                ),
        ),
        (Surface::Api, Action::PatientCreate) => request.json(&json!({
            "given_name": "Nina", "family_name": "Matrix", "birth_date": "1980-05-05"
        })),
        (Surface::Web, Action::PatientCreate) => request.form(&[
            ("csrf", csrf.as_str()),
            ("given_name", "Nina"),
            ("family_name", "Matrix"),
            ("birth_date", "1980-05-05"),
        ]),
        (Surface::Api, Action::ApiKeyCreate) => request.json(&json!({"name": "matrix"})),
        // Every kind with a session holds some `user/` scope, except
        // operators, whose work no scope reaches (422).
        (Surface::Api, Action::ScopedTokenIssue) => request.json(&json!({"scope": "user/*.*"})),
        // HL7 intake (issue 13): a fresh control ID per cell, the patient
        // matched or created in the caller's own tenant.
        (Surface::Api, Action::Hl7Intake) => request
            .header("content-type", "x-application/hl7-v2+er7")
            .body(crate::hl7::matrix_message()),
        // Messaging: staff name the patient, patients the facility; each
        // reads its own field.
        (Surface::Api, Action::ThreadCreate) => request.json(&json!({
            "subject": "Matrix", "body": "Matrix",
            "patient_id": app.user("max.schmidt").patient_ids[0],
            "tenant_id": app.world.tenants[0].id,
        })),
        (Surface::Web, Action::ThreadCreate) => request.form(&[
            ("csrf", csrf.as_str()),
            ("subject", "Matrix"),
            ("body", "Matrix"),
            (
                "patient_id",
                &app.user("max.schmidt").patient_ids[0].to_string(),
            ),
            ("tenant_id", &app.world.tenants[0].id.to_string()),
        ]),
        (Surface::Api, Action::MessagePost) => request.json(&json!({"body": "Matrix"})),
        (Surface::Web, Action::MessagePost) => request.multipart(
            multipart::Form::new()
                .text("csrf", csrf)
                .text("body", "Matrix"),
        ),
        (Surface::Api, Action::ThreadAssign) => request.json(&json!({"staff_id": null})),
        // Turning on what is on: a valid change that leaves every service
        // running for the cells after it.
        (Surface::Api, Action::SwitchChange) => request.json(&json!({
            "service": "findings.upload", "state": "on", "reason": "matrix"
        })),
        (Surface::Web, Action::SwitchChange) => request.form(&[
            ("csrf", csrf.as_str()),
            ("service", "findings.upload"),
            ("state", "on"),
            ("reason", "matrix"),
        ]),
        // Opening an incident from an alert needs an alert to open it from.
        (Surface::Web, Action::IncidentManage) => {
            sqlx::query(
                "INSERT INTO alerts (id, rule, raised_at, actor, first_at, last_at, count, detail, dedup_key) \
                 VALUES ('matrix-alert', 'many_patients', 1, 'staff:matrix', 1, 2, 1, 'matrix', 'matrix-alert') \
                 ON CONFLICT DO NOTHING",
            )
            .execute(&app.db)
            .await
            .unwrap();
            request.form(&[
                ("csrf", csrf.as_str()),
                ("alert_id", "matrix-alert"),
                ("rule", "many_patients"),
            ])
        }
        // Second-factor settings (issue 12): a code that fits no factor.
        (
            Surface::Api,
            Action::AccountTotpEnrol
            | Action::AccountTotpRemove
            | Action::AccountRecoveryCodesRenew,
        ) => request.json(&json!({"code": "000000"})),
        (
            Surface::Web,
            Action::AccountTotpEnrol
            | Action::AccountTotpRemove
            | Action::AccountRecoveryCodesRenew,
        ) => request.form(&[("csrf", csrf.as_str()), ("code", "000000")]),
        // Staff management, API keys page, settings (issue 12). New
        // members get addresses of their own: e-mails are unique.
        (Surface::Api, Action::StaffCreate) => request.json(&json!({
            "display_name": "Matrix Member",
            "email": format!("matrix-{}@example.org", uuid::Uuid::new_v4()),
            "role": "clinician",
        })),
        (Surface::Web, Action::StaffCreate) => request.form(&[
            ("csrf", csrf.as_str()),
            ("display_name", "Matrix Member"),
            (
                "email",
                &format!("matrix-{}@example.org", uuid::Uuid::new_v4()),
            ),
            ("role", "clinician"),
        ]),
        (Surface::Api, Action::StaffRoleChange) => request.json(&json!({"role": "assistant"})),
        (Surface::Web, Action::StaffRoleChange) => {
            request.form(&[("csrf", csrf.as_str()), ("role", "assistant")])
        }
        (Surface::Api, Action::TenantSettingsChange) => {
            request.json(&json!({"time_zone": "Europe/Berlin"}))
        }
        (Surface::Web, Action::TenantSettingsChange) => {
            request.form(&[("csrf", csrf.as_str()), ("time_zone", "Europe/Berlin")])
        }
        (Surface::Web, Action::ApiKeyCreate) => {
            request.form(&[("csrf", csrf.as_str()), ("name", "matrix"), ("days", "30")])
        }
        (Surface::Web, Action::ApiKeyRevoke) => {
            request.form(&[("csrf", csrf.as_str()), ("confirm", "yes")])
        }
        // Passkeys (issue 12): a real registration answer for this session.
        (Surface::Api, Action::PasskeyRegister) if path == "/api/v1/account/passkeys" => {
            match credential {
                Credential::Session(token) => {
                    let mut soft = crate::passkeys::authenticator();
                    let answer = crate::passkeys::registration_answer(app, token, &mut soft).await;
                    request.json(&json!({"name": "matrix", "credential": answer}))
                }
                Credential::ApiKey(_) => request.json(&json!({})),
            }
        }
        (Surface::Web, Action::PasskeyRegister) if path == "/account/passkeys" => {
            let answer = match credential {
                Credential::Session(token) => {
                    let mut soft = crate::passkeys::authenticator();
                    let answer =
                        crate::passkeys::web_registration_answer(app, token, &mut soft).await;
                    serde_json::to_string(&answer).unwrap()
                }
                Credential::ApiKey(_) => String::new(),
            };
            request.form(&[
                ("csrf", csrf.as_str()),
                ("name", "matrix"),
                ("credential", answer.as_str()),
            ])
        }
        (Surface::Api | Surface::Fhir, _) => request,
        (Surface::Web, _) => request.form(&[("csrf", csrf)]),
    };
    request.send().await.unwrap()
}
