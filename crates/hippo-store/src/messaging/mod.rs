//! Messaging between a facility and one of its patient records, the part
//! both scopes share: read models, row mapping, opening what is sealed,
//! and the one write path of a message (message, attachments, thread
//! counters and audit record in one transaction). The statements, with
//! their fences, sit with each scope (`staff_scope/threads.rs`,
//! `patient_threads.rs`).

pub mod communications;
pub(crate) mod write;

use hippo_core::messaging::{Side, ThreadStatus};
use hippo_core::policy::{ResourceKind, ResourceRef};
use hippo_core::time_util::{UnixMillis, now_millis};
use hippo_core::{AttachmentId, MessageId, PatientId, StaffId, TenantId, ThreadId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::admission::{Access, Admitted, Gated, Gatekeeper};
use crate::error::StoreError;
use crate::rows::parse;
use crate::vault::Vault;

pub(crate) use write::{NewThreadRow, insert_thread, post_message};

/// Binding kinds of what messaging seals (part of each encryption binding).
pub(crate) const SUBJECT_SEAL: &str = "thread_subject";
pub(crate) const BODY_SEAL: &str = "message_body";
pub(crate) const ATTACHMENT_NAME_SEAL: &str = "attachment_name";
pub(crate) const ATTACHMENT_BLOB: &str = "message_attachment";

/// A thread as its reader sees it in a list or at the top of the thread.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ThreadSummary {
    pub id: ThreadId,
    pub tenant_id: TenantId,
    pub tenant_name: String,
    pub patient_id: PatientId,
    /// The patient's name, for staff; `None` for the patient.
    pub patient_name: Option<String>,
    pub subject: String,
    pub status: ThreadStatus,
    pub assigned_to: Option<StaffId>,
    pub assigned_name: Option<String>,
    pub created_at: UnixMillis,
    pub last_message_at: UnixMillis,
    pub message_count: i64,
    /// Messages of the other side this reader's side has not read.
    pub unread: i64,
}

/// One page of threads, newest activity first.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ThreadPage {
    pub threads: Vec<ThreadSummary>,
    /// Unread messages of the reader's side over all its threads.
    pub unread_total: i64,
    /// Pass as `before` for the next page; `None` on the last page.
    pub next_before: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttachmentMeta {
    pub id: AttachmentId,
    /// `pdf`, `png` or `jpeg`: what its bytes were classified as.
    pub kind: String,
    pub size: i64,
    /// Sanitised when stored; the download name.
    pub file_name: String,
}

#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MessageRecord {
    pub id: MessageId,
    pub author_side: Side,
    /// Staff see both names; patients see staff names only where the
    /// facility shows them, and `None` on their own messages.
    pub author_name: Option<String>,
    pub body: String,
    pub created_at: UnixMillis,
    /// When the other side read it (`None`: not yet).
    pub read_at: Option<UnixMillis>,
    pub attachments: Vec<AttachmentMeta>,
}

#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ThreadDetail {
    pub thread: ThreadSummary,
    pub messages: Vec<MessageRecord>,
}

/// An attachment's bytes, opened from its sealed blob.
#[derive(Debug)]
#[non_exhaustive]
pub struct AttachmentFile {
    pub meta: AttachmentMeta,
    pub bytes: Vec<u8>,
}

/// A file to attach: its bytes, the kind they were classified as, and
/// the sanitised name to download it under.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub kind: hippo_core::file_kind::FileKind,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// What a staff member filters the inbox by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxFilter {
    pub status: Option<ThreadStatus>,
    pub unread_only: bool,
    pub assigned_to_me: bool,
}

/// Where a page starts: before this (last activity, thread ID), newest
/// first. Written as `"{millis}.{thread id}"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    pub last_message_at: UnixMillis,
    pub id: ThreadId,
}

impl PageCursor {
    pub fn parse(raw: &str) -> Option<Self> {
        let (at, id) = raw.split_once('.')?;
        Some(Self {
            last_message_at: at.parse().ok()?,
            id: id.parse().ok()?,
        })
    }

    pub fn render(&self) -> String {
        format!("{}.{}", self.last_message_at, self.id)
    }

    /// The bind values of a page's start (after everything for page one).
    pub(crate) fn bounds(cursor: Option<Self>) -> (i64, String) {
        match cursor {
            Some(c) => (c.last_message_at, c.id.to_string()),
            None => (i64::MAX, String::new()),
        }
    }
}

/// A thread row as fetched: the subject still sealed.
pub(crate) struct ThreadRow {
    pub(crate) summary: ThreadSummary,
    pub(crate) subject_sealed: Vec<u8>,
}

/// Reads the columns every thread statement selects.
pub(crate) fn thread_row(row: &AnyRow) -> Result<ThreadRow, StoreError> {
    let status: String = row.try_get("status")?;
    let assigned: Option<String> = row.try_get("assigned_to")?;
    Ok(ThreadRow {
        summary: ThreadSummary {
            id: parse(row, "id")?,
            tenant_id: parse(row, "tenant_id")?,
            tenant_name: row.try_get("tenant_name")?,
            patient_id: parse(row, "patient_id")?,
            patient_name: row.try_get("patient_name")?,
            subject: String::new(),
            status: ThreadStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt("thread status".into()))?,
            assigned_to: assigned
                .map(|a| a.parse())
                .transpose()
                .map_err(|_| StoreError::Corrupt("assigned_to".into()))?,
            assigned_name: row.try_get("assigned_name")?,
            created_at: row.try_get("created_at")?,
            last_message_at: row.try_get("last_message_at")?,
            message_count: row.try_get("message_count")?,
            unread: row.try_get("unread")?,
        },
        subject_sealed: row.try_get("subject_sealed")?,
    })
}

pub(crate) fn thread_ref(t: &ThreadRow) -> ResourceRef {
    ResourceRef::Thread {
        tenant: t.summary.tenant_id,
        patient: t.summary.patient_id,
        thread: t.summary.id,
        status: t.summary.status,
    }
}

/// The success record of anything about one thread.
pub(crate) fn thread_access(t: &ThreadSummary) -> Access {
    Access::of(t.id).concerning(t.tenant_id, Some(t.patient_id))
}

fn text(bytes: Vec<u8>, what: &str) -> Result<String, StoreError> {
    String::from_utf8(bytes).map_err(|_| StoreError::Corrupt(format!("{what} is not UTF-8")))
}

/// Open the subjects of threads the gate let through.
pub(crate) async fn open_threads(
    vault: &Vault,
    rows: Gated<Vec<ThreadRow>>,
) -> Result<Gated<Vec<ThreadSummary>>, StoreError> {
    let mut subjects = Vec::with_capacity(rows.get().len());
    for t in rows.get() {
        let id = t.summary.id.to_string();
        let plain = vault
            .open_value(t.summary.tenant_id, SUBJECT_SEAL, &id, &t.subject_sealed)
            .await?;
        subjects.push(text(plain, "subject")?);
    }
    Ok(rows.with(|rows| {
        rows.into_iter()
            .zip(subjects)
            .map(|(row, subject)| ThreadSummary {
                subject,
                ..row.summary
            })
            .collect()
    }))
}

pub(crate) async fn open_thread(
    vault: &Vault,
    row: Gated<ThreadRow>,
) -> Result<Gated<ThreadSummary>, StoreError> {
    let t = row.get();
    let id = t.summary.id.to_string();
    let subject = text(
        vault
            .open_value(t.summary.tenant_id, SUBJECT_SEAL, &id, &t.subject_sealed)
            .await?,
        "subject",
    )?;
    Ok(row.with(|row| ThreadSummary {
        subject,
        ..row.summary
    }))
}

/// Who reads: their side (which decides the author names shown).
#[derive(Clone, Copy)]
pub(crate) struct Reader {
    pub(crate) side: Side,
}

/// The messages of an admitted thread with their attachments, opened.
/// Patients see a staff author's name only where the facility shows
/// staff names; their own messages carry no name.
async fn messages_of(
    gk: &Gatekeeper,
    vault: &Vault,
    reader: Reader,
    thread: &ThreadSummary,
) -> Result<Vec<MessageRecord>, StoreError> {
    let (tenant, id) = (thread.tenant_id.to_string(), thread.id.to_string());
    let (message_rows, attachment_rows) = {
        let mut conn = gk.connections.acquire().await?;
        let messages = sqlx::query(
            "SELECT m.id, m.author_side, m.body_sealed, m.created_at, m.read_at, \
             s.display_name AS staff_name, tn.show_staff_names_to_patients AS show_names, \
             p.given_name || ' ' || p.family_name AS patient_name \
             FROM messages m JOIN tenants tn ON tn.id = m.tenant_id \
             JOIN patients p ON p.tenant_id = m.tenant_id AND p.id = m.patient_id \
             LEFT JOIN staff_users s ON s.id = m.author_id AND s.tenant_id = m.tenant_id \
             WHERE m.tenant_id = $1 AND m.thread_id = $2 ORDER BY m.created_at, m.id",
        )
        .bind(&tenant)
        .bind(&id)
        .fetch_all(&mut *conn)
        .await?;
        let attachments = attachment_rows_of(&mut conn, thread.tenant_id, thread.id).await?;
        (messages, attachments)
    };
    let attachments = open_attachment_names(vault, thread.tenant_id, &attachment_rows).await?;
    let mut messages = Vec::with_capacity(message_rows.len());
    for row in &message_rows {
        let row = sealed_message_row(row)?;
        messages.push(open_message(vault, thread.tenant_id, reader, row, &attachments).await?);
    }
    Ok(messages)
}

/// The attachment rows of an admitted thread, names still sealed.
pub(crate) async fn attachment_rows_of(
    conn: &mut sqlx::AnyConnection,
    tenant: TenantId,
    thread: ThreadId,
) -> Result<Vec<AnyRow>, StoreError> {
    Ok(sqlx::query(
        "SELECT a.id, a.message_id, a.kind, a.size, a.name_sealed FROM message_attachments a \
         WHERE a.tenant_id = $1 AND a.thread_id = $2 ORDER BY a.message_id, a.position",
    )
    .bind(tenant.to_string())
    .bind(thread.to_string())
    .fetch_all(conn)
    .await?)
}

/// Attachment rows (`a.message_id` with [`attachment_meta_row`]'s columns)
/// with their names opened, by message.
pub(crate) async fn open_attachment_names(
    vault: &Vault,
    tenant: TenantId,
    rows: &[AnyRow],
) -> Result<Vec<(MessageId, AttachmentMeta)>, StoreError> {
    let mut attachments = Vec::with_capacity(rows.len());
    for row in rows {
        let (meta, sealed) = attachment_meta_row(row)?;
        let name = vault
            .open_value(tenant, ATTACHMENT_NAME_SEAL, &meta.id.to_string(), &sealed)
            .await?;
        let message: MessageId = parse(row, "message_id")?;
        attachments.push((
            message,
            AttachmentMeta {
                file_name: text(name, "file name")?,
                ..meta
            },
        ));
    }
    Ok(attachments)
}

/// A message row as fetched: the body still sealed, the names for each
/// reader's view.
#[derive(Debug, Clone)]
pub(crate) struct SealedMessageRow {
    pub(crate) id: MessageId,
    pub(crate) author_side: Side,
    pub(crate) body_sealed: Vec<u8>,
    pub(crate) created_at: UnixMillis,
    pub(crate) read_at: Option<UnixMillis>,
    pub(crate) staff_name: Option<String>,
    pub(crate) show_names: bool,
    pub(crate) patient_name: Option<String>,
}

/// Reads `id, author_side, body_sealed, created_at, read_at, staff_name,
/// show_names, patient_name`.
pub(crate) fn sealed_message_row(row: &AnyRow) -> Result<SealedMessageRow, StoreError> {
    let side: String = row.try_get("author_side")?;
    let show_names: i64 = row.try_get("show_names")?;
    Ok(SealedMessageRow {
        id: parse(row, "id")?,
        author_side: Side::parse(&side).ok_or_else(|| StoreError::Corrupt("author_side".into()))?,
        body_sealed: row.try_get("body_sealed")?,
        created_at: row.try_get("created_at")?,
        read_at: row.try_get("read_at")?,
        staff_name: row.try_get("staff_name")?,
        show_names: show_names == 1,
        patient_name: row.try_get("patient_name")?,
    })
}

/// A message opened for `reader`, with its attachments from
/// `attachments`. Patients see a staff author's name only where the
/// facility shows staff names; their own messages carry no name.
pub(crate) async fn open_message(
    vault: &Vault,
    tenant: TenantId,
    reader: Reader,
    row: SealedMessageRow,
    attachments: &[(MessageId, AttachmentMeta)],
) -> Result<MessageRecord, StoreError> {
    let id = row.id;
    let body = text(
        vault
            .open_value(tenant, BODY_SEAL, &id.to_string(), &row.body_sealed)
            .await?,
        "body",
    )?;
    let author_name = match (reader.side, row.author_side) {
        (Side::Staff, Side::Staff) => row.staff_name,
        (Side::Staff, Side::Patient) => row.patient_name,
        (Side::Patient, Side::Staff) if row.show_names => row.staff_name,
        (Side::Patient, _) => None,
    };
    Ok(MessageRecord {
        id,
        author_side: row.author_side,
        author_name,
        body,
        created_at: row.created_at,
        read_at: row.read_at,
        attachments: attachments
            .iter()
            .filter(|(m, _)| *m == id)
            .map(|(_, a)| a.clone())
            .collect(),
    })
}

/// Reads `a.id, a.kind, a.size, a.name_sealed`: the name still sealed.
pub(crate) fn attachment_meta_row(row: &AnyRow) -> Result<(AttachmentMeta, Vec<u8>), StoreError> {
    Ok((
        AttachmentMeta {
            id: parse(row, "id")?,
            kind: row.try_get("kind")?,
            size: row.try_get("size")?,
            file_name: String::new(),
        },
        row.try_get("name_sealed")?,
    ))
}

/// A thread the gate let through, with its messages, recorded as read.
/// Opening a thread marks the other side's messages read for the
/// reader's side: then the record is written in that transaction.
pub(crate) async fn read_thread(
    gk: &Gatekeeper,
    vault: &Vault,
    reader: Reader,
    row: Gated<ThreadRow>,
) -> Result<Admitted<ThreadDetail>, StoreError> {
    let thread = open_thread(vault, row).await?;
    let messages = messages_of(gk, vault, reader, thread.get()).await?;
    let unread = thread.get().unread;
    let access = thread_access(thread.get());
    let detail = thread.with(|thread| ThreadDetail {
        thread: ThreadSummary {
            unread: 0,
            ..thread
        },
        messages,
    });
    if unread == 0 {
        return gk.admit(detail, ResourceKind::Thread, vec![access]).await;
    }
    let t = &detail.get().thread;
    let mut tx = gk.connections.begin(true).await?;
    let unread_column = match reader.side {
        Side::Staff => "UPDATE threads SET staff_unread = 0 WHERE tenant_id = $1 AND id = $2",
        Side::Patient => "UPDATE threads SET patient_unread = 0 WHERE tenant_id = $1 AND id = $2",
    };
    let marked = sqlx::query(
        "UPDATE messages SET read_at = $1 WHERE tenant_id = $2 AND thread_id = $3 \
         AND author_side = $4 AND read_at IS NULL",
    )
    .bind(now_millis())
    .bind(t.tenant_id.to_string())
    .bind(t.id.to_string())
    .bind(reader.side.other().as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(unread_column)
        .bind(t.tenant_id.to_string())
        .bind(t.id.to_string())
        .execute(&mut *tx)
        .await?;
    let access = access.detail(format!("marked_read={marked}"));
    gk.commit(tx, detail, ResourceKind::Thread, access).await
}

/// An attachment the gate let through, opened from its sealed blob.
pub(crate) async fn open_attachment(
    gk: &Gatekeeper,
    vault: &Vault,
    row: Gated<AttachmentRow>,
) -> Result<Admitted<AttachmentFile>, StoreError> {
    let a = row.get();
    let id = a.meta.id.to_string();
    let name = text(
        vault
            .open_value(a.tenant_id, ATTACHMENT_NAME_SEAL, &id, &a.name_sealed)
            .await?,
        "file name",
    )?;
    let bytes = vault
        .get_and_open(a.tenant_id, ATTACHMENT_BLOB, &id)
        .await?;
    let access = Access::of(&id)
        .concerning(a.tenant_id, Some(a.patient_id))
        .detail(format!("thread={}", a.thread_id));
    let file = row.with(|a| AttachmentFile {
        meta: AttachmentMeta {
            file_name: name,
            ..a.meta
        },
        bytes,
    });
    gk.admit(file, ResourceKind::Attachment, vec![access]).await
}

/// An attachment row as fetched, with what the gate judges.
pub(crate) struct AttachmentRow {
    pub(crate) meta: AttachmentMeta,
    pub(crate) name_sealed: Vec<u8>,
    pub(crate) tenant_id: TenantId,
    pub(crate) patient_id: PatientId,
    pub(crate) thread_id: ThreadId,
    pub(crate) thread_status: ThreadStatus,
}

/// Reads `a.id, a.tenant_id, a.patient_id, a.thread_id, a.kind, a.size,
/// a.name_sealed, t.status AS thread_status`.
pub(crate) fn attachment_row(row: &AnyRow) -> Result<AttachmentRow, StoreError> {
    let (meta, name_sealed) = attachment_meta_row(row)?;
    let status: String = row.try_get("thread_status")?;
    Ok(AttachmentRow {
        meta,
        name_sealed,
        tenant_id: parse(row, "tenant_id")?,
        patient_id: parse(row, "patient_id")?,
        thread_id: parse(row, "thread_id")?,
        thread_status: ThreadStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt("thread status".into()))?,
    })
}

pub(crate) fn attachment_ref(a: &AttachmentRow) -> ResourceRef {
    ResourceRef::Attachment {
        tenant: a.tenant_id,
        patient: a.patient_id,
        attachment: a.meta.id,
        thread_status: a.thread_status,
    }
}

/// The unread total of one reader over all its threads: one row or none.
pub(crate) struct UnreadTotal {
    pub(crate) owner: ResourceRef,
    pub(crate) total: i64,
}

/// One page of admitted threads, with the reader's unread total, recorded
/// once per patient record whose threads were listed.
pub(crate) async fn admit_page(
    gk: &Gatekeeper,
    vault: &Vault,
    rows: Gated<Vec<ThreadRow>>,
    unread: Gated<Vec<UnreadTotal>>,
    limit: usize,
) -> Result<Admitted<ThreadPage>, StoreError> {
    let threads = open_threads(vault, rows).await?;
    let accesses = crate::patient_scope::per_patient_accesses(
        threads.get().iter().map(|t| (t.tenant_id, t.patient_id)),
    );
    let page = threads.zip(unread).with(|(threads, unread)| {
        let next_before = (threads.len() >= limit)
            .then(|| threads.last())
            .flatten()
            .map(|t| {
                PageCursor {
                    last_message_at: t.last_message_at,
                    id: t.id,
                }
                .render()
            });
        ThreadPage {
            unread_total: unread.iter().map(|u| u.total).sum(),
            threads,
            next_before,
        }
    });
    gk.admit(page, ResourceKind::Thread, accesses).await
}

/// A page size within bounds: 50 unless asked, at most 200.
pub fn page_limit(asked: Option<i64>) -> i64 {
    asked.unwrap_or(50).clamp(1, 200)
}
