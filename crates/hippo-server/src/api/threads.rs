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
use hippo_core::{AttachmentId, ThreadId};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::json::ApiJson;
use crate::conversations::{
    self, MessageForm, MessageJson, NewThread, ThreadQuery, page, parse_staff, start,
};
use crate::error::{ApiError, ErrorBody, Failure};
use crate::extract::Authorized;
use crate::state::AppState;
use crate::thread_views::{
    MessageView, ThreadPageView, ThreadSummaryView, ThreadView, attachment_response,
};

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
