//! The one place where failures become HTTP responses. 5xx bodies are
//! generic; the cause goes to the log. Not-found bodies never depend on why
//! nothing was found (invariant 3).

use askama::Template;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use hippo_core::DomainError;
use hippo_core::switches::Outage;
use hippo_store::{Cause, StoreError, chain};

use crate::declarations::Surface;
pub use crate::i18n::{Lang, Ui};
use serde::Serialize;
use utoipa::ToSchema;

/// Why a request failed. What the client sees is `status`, `code` and
/// `message`; what the operator sees is the one log line written where
/// the failure becomes a response, with its whole `source` chain.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("unauthenticated")]
    Unauthenticated,
    /// The role may not use this collection route at all.
    #[error("forbidden")]
    Forbidden,
    /// A scoped credential (issue 13) used on a collection route its
    /// scopes do not name (item routes answer `NotFound`).
    #[error("outside the credential's scopes")]
    OutsideScope,
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("invalid transition: {0}")]
    InvalidTransition(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("payload too large")]
    PayloadTooLarge,
    /// A file refused by its content (`hippo_core::file_kind`).
    #[error("unsupported file: {0}")]
    RefusedFile(#[source] hippo_core::file_kind::RefusedFile),
    #[error("rate limited")]
    RateLimited,
    /// Login refused by the lockout (`auth::lockout`): come back after
    /// this many seconds (sent as `Retry-After`).
    #[error("login throttled")]
    LoginThrottled { retry_after_secs: u64 },
    /// Too many not-found answers in a short window: ID probing.
    #[error("probing")]
    Probing,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("CSRF token mismatch")]
    CsrfMismatch,
    /// A password reset token that is unknown, used or expired (one answer
    /// for all three; issue 12).
    #[error("invalid reset token")]
    InvalidResetToken,
    /// A page needs a login: the browser goes to the login form, told
    /// whether its session ran out, and comes back to `next` (a local path)
    /// afterwards (issue 12).
    #[error("sign in again")]
    SignInAgain { expired: bool, next: Option<String> },
    /// The audit log could not be written: fail closed.
    #[error("audit log unavailable, failing closed")]
    AuditUnavailable(#[source] StoreError),
    /// More load than the server takes on now: shed, with Retry-After.
    #[error("shedding load")]
    Overloaded(#[source] Option<StoreError>),
    /// The database or the blob store is unreachable, read-only or full;
    /// nothing changed.
    #[error("storage unavailable")]
    Unavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] Option<Cause>),
    /// The operator switched the request's service off (everywhere or for
    /// its tenant): a maintenance answer, with the operator's message for
    /// users and never the internal reason.
    #[error("service switched off: {} ({})", .0.service, .0.scope)]
    ServiceOff(Outage),
    // ---- Retrieval codes (issue 11)
    /// Typed text that is no retrieval code (a typo, a wrong length):
    /// caught before it counts as an attempt.
    #[error("not a retrieval code: {0}")]
    RetrievalCodeMalformed(hippo_core::retrieval::CodeError),
    /// A retrieval refused; a wrong code and a wrong date of birth are
    /// one answer.
    #[error("retrieval refused: {0}")]
    RetrievalRefused(hippo_core::retrieval::RetrievalRefusal),
}

impl Failure {
    /// An internal failure with what caused it.
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Some(std::sync::Arc::new(cause)))
    }

    /// Write the one log line of a failure that is the server's fault or
    /// a fault of what it depends on (5xx); the client's own mistakes are
    /// not logged as errors.
    fn log(&self) {
        let status = self.status();
        // A switched-off service answers 503 by the operator's choice, not
        // by a fault: no error line per refused request.
        if status.is_server_error() && !matches!(self, Self::ServiceOff(_)) {
            tracing::error!(status = status.as_u16(), error = %chain(self), "request failed");
        }
    }
}

/// Seconds a client should wait before retrying a 503.
pub const RETRY_AFTER_SECS: &str = "1";
/// A switched-off service is back after an operator's fix, not in a second.
pub const SERVICE_OFF_RETRY_AFTER_SECS: &str = "60";

/// What users read when a service is off and the operator left no message.
impl Failure {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated | Self::InvalidCredentials | Self::SignInAgain { .. } => {
                StatusCode::UNAUTHORIZED
            }
            Self::InvalidResetToken => StatusCode::GONE,
            Self::Forbidden | Self::OutsideScope | Self::CsrfMismatch => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::InvalidTransition(_) | Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RefusedFile(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited | Self::LoginThrottled { .. } | Self::Probing => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::AuditUnavailable(_)
            | Self::Overloaded(_)
            | Self::Unavailable(_)
            | Self::ServiceOff(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::RetrievalCodeMalformed(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RetrievalRefused(refusal) => {
                use hippo_core::retrieval::RetrievalRefusal as R;
                match refusal {
                    R::NotRecognised => StatusCode::NOT_FOUND,
                    R::Expired | R::Revoked | R::Withdrawn => StatusCode::GONE,
                    R::Locked => StatusCode::LOCKED,
                }
            }
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated | Self::SignInAgain { .. } => "unauthenticated",
            Self::InvalidResetToken => "invalid_reset_token",
            Self::Forbidden => "forbidden",
            Self::OutsideScope => "insufficient_scope",
            Self::NotFound => "not_found",
            Self::BadRequest(_) => "bad_request",
            Self::Invalid(_) => "invalid_input",
            Self::InvalidTransition(_) => "invalid_transition",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RefusedFile(_) => "unsupported_file",
            Self::RateLimited | Self::LoginThrottled { .. } => "rate_limited",
            Self::Probing => "too_many_not_found",
            Self::InvalidCredentials => "invalid_credentials",
            Self::CsrfMismatch => "csrf_mismatch",
            Self::AuditUnavailable(_) => "audit_unavailable",
            Self::Overloaded(_) => "overloaded",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
            Self::ServiceOff(_) => "service_off",
            Self::RetrievalCodeMalformed(hippo_core::retrieval::CodeError::Typo) => "code_typo",
            Self::RetrievalCodeMalformed(_) => "code_malformed",
            Self::RetrievalRefused(refusal) => {
                use hippo_core::retrieval::RetrievalRefusal as R;
                match refusal {
                    R::NotRecognised => "retrieval_not_recognised",
                    R::Expired => "code_expired",
                    R::Revoked => "code_revoked",
                    R::Withdrawn => "finding_withdrawn",
                    R::Locked => "code_locked",
                }
            }
        }
    }

    /// The message for a person reading a page in `lang`: one text per
    /// kind of failure (`error-<code>` in the catalog).
    pub fn localized(&self, lang: Lang) -> String {
        match self {
            Self::ServiceOff(outage) => outage
                .user_message
                .clone()
                .unwrap_or_else(|| crate::i18n::text(lang, "error-service_off")),
            _ => crate::i18n::text(lang, &format!("error-{}", self.code())),
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated | Self::SignInAgain { .. } => "Please log in.".into(),
            Self::InvalidResetToken => {
                "This reset link is unknown, used or expired. Please ask for a new one.".into()
            }
            Self::Forbidden => "Your role may not do this.".into(),
            Self::OutsideScope => "This credential's scopes do not allow this.".into(),
            Self::NotFound => "Not found.".into(),
            Self::BadRequest(m)
            | Self::Invalid(m)
            | Self::InvalidTransition(m)
            | Self::Conflict(m) => m.clone(),
            Self::PayloadTooLarge => "The upload is larger than the configured limit.".into(),
            Self::RefusedFile(refusal) => format!("The file was refused: {refusal}."),
            Self::RateLimited | Self::LoginThrottled { .. } => {
                "Too many attempts. Please wait a minute and try again.".into()
            }
            Self::Probing => {
                "Too many requests for things that do not exist. Please wait a minute.".into()
            }
            Self::InvalidCredentials => "E-mail or password is wrong.".into(),
            Self::CsrfMismatch => {
                "The form has expired. Please reload the page and try again.".into()
            }
            Self::AuditUnavailable(_) | Self::Unavailable(_) => {
                "The service is temporarily unavailable. Nothing was changed.".into()
            }
            Self::Overloaded(_) => {
                "The service is busy. Nothing was changed; please try again in a moment.".into()
            }
            Self::Internal(_) => "Something went wrong on our side.".into(),
            Self::ServiceOff(outage) => outage
                .user_message
                .clone()
                .unwrap_or_else(|| crate::i18n::text(Lang::En, "error-service_off")),
            Self::RetrievalCodeMalformed(e) => format!("code: {e}"),
            Self::RetrievalRefused(refusal) => {
                crate::i18n::text(Lang::En, crate::retrieval_texts::refusal(*refusal))
            }
        }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::Domain(d) => d.into(),
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::Retrieval(refusal) => Self::RetrievalRefused(refusal),
            StoreError::AuditUnavailable { .. } => Self::AuditUnavailable(error),
            StoreError::Overloaded(_) => Self::Overloaded(Some(error)),
            StoreError::ServiceOff(outage) => Self::ServiceOff(outage),
            StoreError::Unavailable(_) | StoreError::BlobUnavailable(_) => Self::Unavailable(error),
            other => Self::internal(other),
        }
    }
}

impl From<DomainError> for Failure {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid { .. } => Self::Invalid(error.to_string()),
            DomainError::InvalidTransition { .. } | DomainError::ThreadRefuses { .. } => {
                Self::InvalidTransition(error.to_string())
            }
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`, `invalid_input`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// A failure answered as JSON (`/api/v1`).
#[derive(Debug)]
pub struct ApiError(pub Failure);

impl<E: Into<Failure>> From<E> for ApiError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.log();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.0.code().into(),
                message: self.0.message(),
            },
        };
        with_retry_after(&self.0, (self.0.status(), Json(body)).into_response())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ui: Ui,
    title: String,
    message: String,
    /// What the failure says beyond its kind (which field, which state),
    /// from the layer that found it; in English.
    detail: Option<String>,
}

/// A failure answered as an HTML page (browser UI).
#[derive(Debug)]
pub struct WebError(pub Failure);

impl<E: Into<Failure>> From<E> for WebError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

#[derive(Template)]
#[template(path = "maintenance.html")]
struct MaintenancePage {
    ui: Ui,
    service: &'static str,
    user_message: Option<String>,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if matches!(self.0, Failure::Unauthenticated) {
            return Redirect::to("/login").into_response();
        }
        if let Failure::SignInAgain { expired, next } = &self.0 {
            return Redirect::to(&sign_in_again_path(*expired, next.as_deref())).into_response();
        }
        if let Failure::ServiceOff(outage) = &self.0 {
            let page = MaintenancePage {
                ui: Ui::new(Lang::current(), "/"),
                service: outage.service.as_str(),
                user_message: outage.user_message.clone(),
            };
            let response = match page.render() {
                Ok(html) => (self.0.status(), Html(html)).into_response(),
                Err(_) => self.0.status().into_response(),
            };
            return with_retry_after(&self.0, response);
        }
        self.0.log();
        // The switch on an error page leads to the start page: with the
        // request's path in it, the page of a foreign object would differ
        // from that of a nonexistent one (their IDs), and must not.
        let ui = Ui::new(Lang::current(), "/");
        let title = ui.t(match self.0 {
            Failure::NotFound => "error-title-not-found",
            Failure::Forbidden | Failure::OutsideScope | Failure::CsrfMismatch => {
                "error-title-not-allowed"
            }
            Failure::AuditUnavailable(_)
            | Failure::Overloaded(_)
            | Failure::Unavailable(_)
            | Failure::ServiceOff(_)
            | Failure::Internal(_) => "error-title-unavailable",
            _ => "error-title-cannot",
        });
        let detail = match &self.0 {
            Failure::BadRequest(m)
            | Failure::Invalid(m)
            | Failure::InvalidTransition(m)
            | Failure::Conflict(m) => Some(m.clone()),
            Failure::RefusedFile(refusal) => Some(refusal.to_string()),
            _ => None,
        };
        let page = ErrorPage {
            message: self.0.localized(ui.lang),
            ui,
            title,
            detail,
        };
        let mut response = match page.render() {
            Ok(html) => (self.0.status(), Html(html)).into_response(),
            Err(_) => self.0.status().into_response(),
        };
        if matches!(self.0, Failure::CsrfMismatch) {
            // Recorded by the form guard, with the route.
            response.extensions_mut().insert(Refused("csrf_mismatch"));
        }
        with_retry_after(&self.0, response)
    }
}

/// `/login`, with `expired=1` and the way back (percent-encoded).
fn sign_in_again_path(expired: bool, next: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if expired {
        query.append_pair("expired", "1");
    }
    if let Some(next) = next {
        query.append_pair("next", next);
    }
    let query = query.finish();
    if query.is_empty() {
        "/login".into()
    } else {
        format!("/login?{query}")
    }
}

/// Set on a response whose request was refused for a reason the handler
/// did not audit itself (a CSRF mismatch): the web form guard records it.
#[derive(Debug, Clone, Copy)]
pub struct Refused(pub &'static str);

/// Every 503, and a throttled login, tells the client when to come back.
fn with_retry_after(failure: &Failure, mut response: Response) -> Response {
    if let Failure::LoginThrottled { retry_after_secs } = failure {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(*retry_after_secs),
        );
        return response;
    }
    if failure.status() == StatusCode::SERVICE_UNAVAILABLE {
        let seconds = match failure {
            Failure::ServiceOff(_) => SERVICE_OFF_RETRY_AFTER_SECS,
            _ => RETRY_AFTER_SECS,
        };
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static(seconds),
        );
    }
    response
}

/// A failure answered as a FHIR `OperationOutcome` (`/fhir/r4`), with
/// `application/fhir+json`. The issue code follows the FHIR IssueType
/// value set; the diagnostics are the JSON API's message.
#[derive(Debug)]
pub struct FhirError(pub Failure);

impl<E: Into<Failure>> From<E> for FhirError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl Failure {
    /// The FHIR IssueType code of this failure.
    fn fhir_issue(&self) -> &'static str {
        match self.status() {
            StatusCode::UNAUTHORIZED => "login",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND | StatusCode::GONE => "not-found",
            StatusCode::BAD_REQUEST => "invalid",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid",
            StatusCode::CONFLICT => "conflict",
            StatusCode::PAYLOAD_TOO_LARGE => "too-costly",
            StatusCode::TOO_MANY_REQUESTS => "throttled",
            StatusCode::SERVICE_UNAVAILABLE => "transient",
            StatusCode::INTERNAL_SERVER_ERROR => "exception",
            _ => "processing",
        }
    }
}

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        use crate::fhir::resources::{OperationOutcome, OutcomeIssue};
        self.0.log();
        let outcome = OperationOutcome {
            issue: vec![OutcomeIssue {
                severity: "error",
                code: self.0.fhir_issue(),
                diagnostics: self.0.message(),
            }],
        };
        let body = serde_json::to_vec(&outcome).unwrap_or_default();
        let mut response = (
            self.0.status(),
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static(crate::fhir::resources::FHIR_JSON),
            )],
            body,
        )
            .into_response();
        if self.0.status() == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        with_retry_after(&self.0, response)
    }
}

/// Failure of an extractor, rendered for the route's surface.
#[derive(Debug)]
pub struct Rejection {
    pub failure: Failure,
    pub surface: Surface,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self.surface {
            Surface::Api => ApiError(self.failure).into_response(),
            Surface::Web => WebError(self.failure).into_response(),
            Surface::Fhir => FhirError(self.failure).into_response(),
        }
    }
}
