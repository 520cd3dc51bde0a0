//! Messaging: threads between a facility and one of its patients — the
//! caller's threads (staff: the facility's inbox; patients: theirs at
//! every facility), a new thread, one thread, posting a message (JSON or
//! multipart with attachments), assignment, closing, retraction, and
//! attachment downloads.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use hippo_core::messaging::{ThreadStatus, parse_body, parse_subject};
use hippo_core::{AttachmentId, PatientId, StaffId, TenantId, ThreadId};
use hippo_store::{InboxFilter, PageCursor, page_limit};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::api::json::ApiJson;
use crate::conversations::{self, MessageForm, MessageJson};
use crate::error::{ApiError, ErrorBody, Failure};
use crate::extract::Authorized;
use crate::scope::Scope;
use crate::state::AppState;
use crate::thread_views::{
    MessageView, ThreadPageView, ThreadSummaryView, ThreadView, attachment_response,
};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ThreadQuery {
    /// Staff only: `open`, `closed` or `retracted`.
    pub status: Option<String>,
    /// Staff only: `true` for threads with unread patient messages.
    pub unread: Option<bool>,
    /// Staff only: `me` for threads assigned to the caller.
    pub assigned: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_before` of the previous page.
    pub before: Option<String>,
}

impl ThreadQuery {
    pub fn cursor(&self) -> Result<Option<PageCursor>, Failure> {
        self.before
            .as_deref()
            .map(|raw| {
                PageCursor::parse(raw)
                    .ok_or_else(|| Failure::Invalid("before: not a page cursor".into()))
            })
            .transpose()
    }

    pub fn filter(&self) -> Result<InboxFilter, Failure> {
        let status = self
            .status
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                ThreadStatus::parse(s).ok_or_else(|| {
                    Failure::Invalid("status: expected open, closed or retracted".into())
                })
            })
            .transpose()?;
        let assigned_to_me = match self.assigned.as_deref() {
            None | Some("") => false,
            Some("me") => true,
            Some(_) => return Err(Failure::Invalid("assigned: expected me".into())),
        };
        Ok(InboxFilter {
            status,
            unread_only: self.unread.unwrap_or(false),
            assigned_to_me,
        })
    }

    fn has_staff_filters(&self) -> bool {
        self.status.is_some() || self.unread.is_some() || self.assigned.is_some()
    }
}

/// One page of the caller's threads, for either surface.
pub async fn page(
    caller: &Authorized,
    query: &ThreadQuery,
) -> Result<hippo_store::Admitted<hippo_store::ThreadPage>, Failure> {
    let limit = page_limit(query.limit);
    let cursor = query.cursor()?;
    match &caller.scope {
        Scope::Staff(s) => Ok(s.inbox(&query.filter()?, cursor, limit).await?),
        Scope::Patient(p) => {
            if query.has_staff_filters() {
                return Err(Failure::Invalid(
                    "status, unread and assigned filter staff inboxes only".into(),
                ));
            }
            Ok(p.threads(cursor, limit).await?)
        }
        Scope::Operator(_) => Err(Failure::NotFound),
    }
}

/// The caller's threads, newest activity first: staff get their
/// facility's inbox (filters apply), patients their threads at every
/// facility they are a patient of.
#[utoipa::path(get, path = "/api/v1/threads", tag = "messaging",
    params(ThreadQuery),
    responses((status = 200, body = ThreadPageView), (status = 403, body = ErrorBody),
        (status = 422, description = "a filter that does not parse", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    caller: Authorized,
    query: Result<Query<ThreadQuery>, QueryRejection>,
) -> Result<Json<ThreadPageView>, ApiError> {
    let Query(query) = query.map_err(|e| Failure::Invalid(e.body_text()))?;
    let page = page(&caller, &query).await?;
    Ok(Json((&*page).into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewThread {
    pub subject: String,
    /// The first message.
    pub body: String,
    /// Staff: the patient of the facility to write to.
    pub patient_id: Option<String>,
    /// Patients: the facility to write to (one they are a patient of).
    pub tenant_id: Option<String>,
}

/// A thread started by the caller, with its first message, for either
/// surface. The addressee's ID is parsed like a path ID: malformed,
/// unknown and foreign all answer "not found".
pub async fn start(
    caller: &Authorized,
    limits: &hippo_core::messaging::MessageLimits,
    new: NewThread,
) -> Result<hippo_store::Admitted<hippo_store::ThreadSummary>, Failure> {
    let subject = parse_subject(&new.subject)?;
    let body = parse_body(&new.body, limits)?;
    match &caller.scope {
        Scope::Staff(s) => {
            let raw = new
                .patient_id
                .ok_or_else(|| Failure::Invalid("patient_id: is required".into()))?;
            let patient: PatientId = caller.parse_id(&raw).await?;
            Ok(s.start_thread(patient, subject, body).await?)
        }
        Scope::Patient(p) => {
            let raw = new
                .tenant_id
                .ok_or_else(|| Failure::Invalid("tenant_id: is required".into()))?;
            let tenant: TenantId = caller.parse_id(&raw).await?;
            Ok(p.start_thread(tenant, subject, body).await?)
        }
        Scope::Operator(_) => Err(Failure::NotFound),
    }
}

/// Start a thread: staff with a patient of their facility (`patient_id`),
/// patients with a facility they are a patient of (`tenant_id`).
#[utoipa::path(post, path = "/api/v1/threads", tag = "messaging",
    request_body = NewThread,
    responses((status = 201, body = ThreadSummaryView), (status = 403, body = ErrorBody),
        (status = 404, description = "no such patient or facility for the caller", body = ErrorBody),
        (status = 422, description = "empty or oversized subject or body", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Authorized,
    ApiJson(new): ApiJson<NewThread>,
) -> Result<(StatusCode, Json<ThreadSummaryView>), ApiError> {
    let thread = start(&caller, &state.config().messaging, new).await?;
    Ok((StatusCode::CREATED, Json((&*thread).into())))
}

/// One thread with its messages and attachment metadata; marks the other
/// side's messages read for the caller's side.
#[utoipa::path(get, path = "/api/v1/threads/{id}", tag = "messaging",
    params(("id" = String, Path, description = "thread ID")),
    responses((status = 200, body = ThreadView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<ThreadView>, ApiError> {
    let id: ThreadId = caller.parse_id(&raw).await?;
    let detail = conversations::thread(&caller, id).await?;
    Ok(Json((&*detail).into()))
}

/// Post a message: JSON `{"body": "…"}`, or multipart with a `body` part
/// and up to four `attachment` parts (PDF, PNG, JPEG by their bytes).
#[utoipa::path(post, path = "/api/v1/threads/{id}/messages", tag = "messaging",
    params(("id" = String, Path, description = "thread ID")),
    request_body(content(
        (MessageJson = "application/json"),
        (MessageForm = "multipart/form-data"),
    )),
    responses((status = 201, body = MessageView), (status = 404, body = ErrorBody),
        (status = 409, description = "the thread is closed or retracted", body = ErrorBody),
        (status = 413, description = "an attachment larger than the limit", body = ErrorBody),
        (status = 415, description = "an attachment that is not PDF, PNG or JPEG", body = ErrorBody),
        (status = 422, description = "empty or oversized body, too many attachments", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn post_message(
    State(state): State<AppState>,
    caller: Authorized,
    Path(raw): Path<String>,
    request: Request,
) -> Result<(StatusCode, Json<MessageView>), ApiError> {
    let id: ThreadId = caller.parse_id(&raw).await?;
    let message = conversations::read_message(request, &state.config().messaging).await?;
    let posted = conversations::post(&caller, id, message).await?;
    Ok((StatusCode::CREATED, Json((&*posted).into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// A staff member of the facility, or `null` to unassign.
    pub staff_id: Option<String>,
}

/// Assign a thread to a staff member of the facility, or unassign it.
#[utoipa::path(post, path = "/api/v1/threads/{id}/assign", tag = "messaging",
    params(("id" = String, Path, description = "thread ID")),
    request_body = Assignment,
    responses((status = 200, body = ThreadSummaryView), (status = 404, body = ErrorBody),
        (status = 409, description = "the thread is retracted", body = ErrorBody),
        (status = 422, description = "not a staff member of the facility", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn assign(
    caller: Authorized,
    Path(raw): Path<String>,
    ApiJson(assignment): ApiJson<Assignment>,
) -> Result<Json<ThreadSummaryView>, ApiError> {
    let id: ThreadId = caller.parse_id(&raw).await?;
    let staff = parse_staff(assignment.staff_id.as_deref())?;
    let thread = caller.staff()?.assign_thread(id, staff).await?;
    Ok(Json((&*thread).into()))
}

/// A staff ID from a request body: absent or empty unassigns.
pub fn parse_staff(raw: Option<&str>) -> Result<Option<StaffId>, Failure> {
    raw.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| Failure::Invalid("staff_id: not a staff ID".into()))
        })
        .transpose()
}

/// Close an open thread: it stays readable and takes no new messages.
#[utoipa::path(post, path = "/api/v1/threads/{id}/close", tag = "messaging",
    params(("id" = String, Path, description = "thread ID")),
    responses((status = 200, body = ThreadSummaryView), (status = 404, body = ErrorBody),
        (status = 409, description = "not open", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn close(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<ThreadSummaryView>, ApiError> {
    let id: ThreadId = caller.parse_id(&raw).await?;
    let thread = caller.staff()?.close_thread(id).await?;
    Ok(Json((&*thread).into()))
}

/// Retract a thread sent by mistake: the patient no longer sees it.
#[utoipa::path(post, path = "/api/v1/threads/{id}/retract", tag = "messaging",
    params(("id" = String, Path, description = "thread ID")),
    responses((status = 200, body = ThreadSummaryView), (status = 404, body = ErrorBody),
        (status = 409, description = "already retracted", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn retract(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<ThreadSummaryView>, ApiError> {
    let id: ThreadId = caller.parse_id(&raw).await?;
    let thread = caller.staff()?.retract_thread(id).await?;
    Ok(Json((&*thread).into()))
}

/// An attachment, as a download (never inline), typed by its bytes.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "messaging",
    params(("id" = String, Path, description = "attachment ID")),
    responses((status = 200, description = "the file, as an attachment", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn attachment(caller: Authorized, Path(raw): Path<String>) -> Result<Response, ApiError> {
    let id: AttachmentId = caller.parse_id(&raw).await?;
    let (meta, bytes) = conversations::attachment(&caller, id).await?.into_parts();
    Ok(attachment_response(&meta, bytes))
}
