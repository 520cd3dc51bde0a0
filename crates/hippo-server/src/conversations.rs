//! Messaging for both surfaces: the caller's scope chosen once per
//! operation (staff or patient; operators and lab systems reach nothing),
//! and a posted message read and checked before anything is stored —
//! body length, number and size of attachments, and each attachment's
//! type decided by its bytes alone.

use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use hippo_core::file_kind::{FileKind, classify};
use hippo_core::messaging::{MessageLimits, download_name, parse_body};
use hippo_core::{AttachmentId, ThreadId};
use hippo_store::{Admitted, AttachmentFile, MessageRecord, NewAttachment, ThreadDetail};
use serde::Deserialize;
use utoipa::ToSchema;

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
        let crate::api::json::ApiJson(json) =
            crate::api::json::ApiJson::<MessageJson>::from_request(request, &())
                .await
                .map_err(|e| e.0)?;
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
