//! What leaves the server about messaging: explicit view types (no sealed
//! bytes, no author IDs), and the attachment download response.

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hippo_core::time_util::rfc3339;
use hippo_store::{AttachmentMeta, MessageRecord, ThreadDetail, ThreadPage, ThreadSummary};
use serde::Serialize;
use utoipa::ToSchema;

use crate::conversations::media_type;
use crate::views::FacilityView;

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadSummaryView {
    pub id: String,
    pub subject: String,
    /// `open`, `closed` or `retracted` (patients never see `retracted`).
    pub status: String,
    pub facility: FacilityView,
    pub patient_id: String,
    /// The patient's name (staff only).
    pub patient_name: Option<String>,
    /// The staff member the thread is assigned to (staff only).
    pub assigned_to: Option<String>,
    pub assigned_name: Option<String>,
    pub created_at: String,
    pub last_message_at: String,
    pub message_count: i64,
    /// Messages of the other side the caller's side has not read yet.
    pub unread: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadPageView {
    pub threads: Vec<ThreadSummaryView>,
    /// Unread messages over all of the caller's threads.
    pub unread_total: i64,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_before: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: String,
    pub file_name: String,
    /// The media type its bytes were classified as.
    pub media_type: String,
    pub size: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: String,
    /// `staff` or `patient`.
    pub author_side: String,
    pub author_name: Option<String>,
    pub body: String,
    pub created_at: String,
    /// When the other side read it.
    pub read_at: Option<String>,
    pub attachments: Vec<AttachmentView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadView {
    #[serde(flatten)]
    pub thread: ThreadSummaryView,
    pub messages: Vec<MessageView>,
}

impl From<&ThreadSummary> for ThreadSummaryView {
    fn from(t: &ThreadSummary) -> Self {
        Self {
            id: t.id.to_string(),
            subject: t.subject.clone(),
            status: t.status.as_str().into(),
            facility: FacilityView {
                id: t.tenant_id.to_string(),
                name: t.tenant_name.clone(),
            },
            patient_id: t.patient_id.to_string(),
            patient_name: t.patient_name.clone(),
            assigned_to: t.assigned_to.map(|s| s.to_string()),
            assigned_name: t.assigned_name.clone(),
            created_at: rfc3339(t.created_at),
            last_message_at: rfc3339(t.last_message_at),
            message_count: t.message_count,
            unread: t.unread,
        }
    }
}

impl From<&ThreadPage> for ThreadPageView {
    fn from(p: &ThreadPage) -> Self {
        Self {
            threads: p.threads.iter().map(Into::into).collect(),
            unread_total: p.unread_total,
            next_before: p.next_before.clone(),
        }
    }
}

impl From<&AttachmentMeta> for AttachmentView {
    fn from(a: &AttachmentMeta) -> Self {
        Self {
            id: a.id.to_string(),
            file_name: a.file_name.clone(),
            media_type: media_type(&a.kind).into(),
            size: a.size,
        }
    }
}

impl From<&MessageRecord> for MessageView {
    fn from(m: &MessageRecord) -> Self {
        Self {
            id: m.id.to_string(),
            author_side: m.author_side.as_str().into(),
            author_name: m.author_name.clone(),
            body: m.body.clone(),
            created_at: rfc3339(m.created_at),
            read_at: m.read_at.map(rfc3339),
            attachments: m.attachments.iter().map(Into::into).collect(),
        }
    }
}

impl From<&ThreadDetail> for ThreadView {
    fn from(d: &ThreadDetail) -> Self {
        Self {
            thread: (&d.thread).into(),
            messages: d.messages.iter().map(Into::into).collect(),
        }
    }
}

/// An attachment as a download, never rendered inline: the media type of
/// its classified kind, a sanitised name, and no sniffing.
pub fn attachment_response(meta: &AttachmentMeta, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, media_type(&meta.kind).to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", meta.file_name),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        Body::from(bytes),
    )
        .into_response()
}
