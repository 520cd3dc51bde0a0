//! Messaging for both surfaces: the caller's scope chosen once per
//! operation (staff or patient; operators and lab systems reach nothing),
//! and a posted message read and checked before anything is stored —
//! body length, number and size of attachments, and each attachment's
//! type decided by its bytes alone.

use axum::Json;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use hippo_core::file_kind::{FileKind, classify};
use hippo_core::messaging::{
    MessageLimits, ThreadStatus, download_name, parse_body, parse_subject,
};
use hippo_core::{AttachmentId, PatientId, StaffId, TenantId, ThreadId};
use hippo_store::{
    Admitted, AttachmentFile, InboxFilter, MessageRecord, NewAttachment, PageCursor, ThreadDetail,
    ThreadPage, ThreadSummary, page_limit,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::Failure;
use crate::extract::Authorized;
use crate::scope::Scope;

/// One thread with its messages, through whichever scope the caller has.
pub async fn thread(caller: &Authorized, id: ThreadId) -> Result<Admitted<ThreadDetail>, Failure> {
    match &caller.scope {
        Scope::Staff(s) => Ok(s.thread(id).await?),
        Scope::Patient(p) => Ok(p.thread(id).await?),
        Scope::Operator(_) => Err(Failure::NotFound),
    }
}

pub async fn post(
    caller: &Authorized,
    id: ThreadId,
    message: PostedMessage,
) -> Result<Admitted<MessageRecord>, Failure> {
    match &caller.scope {
        Scope::Staff(s) => Ok(s
            .post_message(id, message.body, message.attachments)
            .await?),
        Scope::Patient(p) => Ok(p
            .post_message(id, message.body, message.attachments)
            .await?),
        Scope::Operator(_) => Err(Failure::NotFound),
    }
}

pub async fn attachment(
    caller: &Authorized,
    id: AttachmentId,
) -> Result<Admitted<AttachmentFile>, Failure> {
    match &caller.scope {
        Scope::Staff(s) => Ok(s.attachment(id).await?),
        Scope::Patient(p) => Ok(p.attachment(id).await?),
        Scope::Operator(_) => Err(Failure::NotFound),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
) -> Result<Admitted<ThreadPage>, Failure> {
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
) -> Result<Admitted<ThreadSummary>, Failure> {
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

/// A staff ID from a request body: absent or empty unassigns.
pub fn parse_staff(raw: Option<&str>) -> Result<Option<StaffId>, Failure> {
    raw.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| Failure::Invalid("staff_id: not a staff ID".into()))
        })
        .transpose()
}

/// A message as posted, validated: the body checked, every attachment
/// classified by its bytes.
pub struct PostedMessage {
    pub body: String,
    pub attachments: Vec<NewAttachment>,
    /// The browser form's CSRF token (multipart forms only).
    pub csrf: Option<String>,
}

/// `POST /api/v1/threads/{id}/messages` as JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageJson {
    /// The message text (not empty, at most 20,000 characters by default).
    pub body: String,
}

/// The same as multipart: one `body` part and up to four `attachment`
/// parts (PDF, PNG or JPEG, at most 10 MB each by default).
#[allow(dead_code)] // documents the request shape for OpenAPI only
#[derive(ToSchema)]
pub struct MessageForm {
    body: String,
    #[schema(format = Binary)]
    attachment: Vec<u8>,
}

fn multipart_failure(e: MultipartError) -> Failure {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Failure::PayloadTooLarge
    } else {
        Failure::BadRequest(format!("malformed multipart body: {}", e.body_text()))
    }
}

const MAX_TEXT_PART: usize = 1024 * 1024;

/// A part's bytes, refused as soon as they pass `max`.
async fn bounded_bytes(field: &mut Field<'_>, max: usize) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_failure)? {
        if bytes.len() + chunk.len() > max {
            return Err(Failure::PayloadTooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn utf8(name: &str, bytes: Vec<u8>) -> Result<String, Failure> {
    String::from_utf8(bytes)
        .map_err(|_| Failure::BadRequest(format!("{name}: part is not valid UTF-8")))
}

/// Read a posted message, JSON or multipart, and check all of it.
pub async fn read_message(
    request: Request,
    limits: &MessageLimits,
) -> Result<PostedMessage, Failure> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, &()).await.map_err(|e| {
            Failure::BadRequest(format!("expected multipart/form-data: {}", e.body_text()))
        })?;
        return read_multipart(multipart, limits).await;
    }
    if content_type.starts_with("application/json") {
        let json = match Json::<MessageJson>::from_request(request, &()).await {
            Ok(Json(json)) => json,
            Err(JsonRejection::JsonDataError(e)) => return Err(Failure::Invalid(e.body_text())),
            Err(e) => return Err(Failure::BadRequest(e.body_text())),
        };
        return Ok(PostedMessage {
            body: parse_body(&json.body, limits)?,
            attachments: Vec::new(),
            csrf: None,
        });
    }
    Err(Failure::BadRequest(
        "expected Content-Type: application/json or multipart/form-data".into(),
    ))
}

async fn read_multipart(
    mut multipart: Multipart,
    limits: &MessageLimits,
) -> Result<PostedMessage, Failure> {
    let mut body = None;
    let mut csrf = None;
    let mut files: Vec<(Option<String>, Vec<u8>)> = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_failure)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "attachment" => {
                let file_name = field.file_name().map(str::to_owned);
                let bytes = bounded_bytes(&mut field, limits.max_attachment_bytes).await?;
                // A browser sends an empty file part when nothing was chosen.
                if bytes.is_empty() && file_name.as_deref().unwrap_or_default().is_empty() {
                    continue;
                }
                if files.len() == limits.max_attachments {
                    return Err(Failure::Invalid(format!(
                        "attachment: at most {} attachments per message",
                        limits.max_attachments
                    )));
                }
                files.push((file_name, bytes));
            }
            "body" => {
                body = Some(utf8(
                    "body",
                    bounded_bytes(&mut field, MAX_TEXT_PART).await?,
                )?)
            }
            "csrf" => csrf = Some(utf8("csrf", bounded_bytes(&mut field, 256).await?)?),
            other => {
                return Err(Failure::BadRequest(format!(
                    "unexpected form part {:?}; expected body and attachment",
                    other.chars().take(40).collect::<String>()
                )));
            }
        }
    }
    let body = parse_body(
        &body.ok_or_else(|| Failure::Invalid("body: part is required".into()))?,
        limits,
    )?;
    let mut attachments = Vec::with_capacity(files.len());
    for (file_name, bytes) in files {
        // The type is decided by the bytes alone; name and declared type
        // are ignored (the name only gives the download its stem).
        let kind = classify(&bytes).map_err(Failure::RefusedFile)?;
        attachments.push(NewAttachment {
            kind,
            file_name: download_name(file_name.as_deref(), kind.extension()),
            bytes,
        });
    }
    Ok(PostedMessage {
        body,
        attachments,
        csrf,
    })
}

/// The media type an attachment of a stored kind is served as; a kind
/// that is not one we classify is served as opaque bytes.
pub fn media_type(kind: &str) -> &'static str {
    [FileKind::Pdf, FileKind::Png, FileKind::Jpeg]
        .into_iter()
        .find(|k| k.as_str() == kind)
        .map_or("application/octet-stream", FileKind::media_type)
}
