//! The write path of messaging: a new thread with its first message, and
//! a message (with attachments) posted to a thread. Each is one
//! transaction holding the rows, the thread's counters and the audit
//! record; attachment blobs are stored sealed before it and removed again
//! if it fails.

use hippo_core::audit::{AuditEvent, Outcome};
use hippo_core::messaging::{Side, ThreadStatus};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::time_util::now_millis;
use hippo_core::{AttachmentId, MessageId, PatientId, TenantId, ThreadId};
use sqlx::{Any, Row, Transaction};

use super::{
    ATTACHMENT_BLOB, ATTACHMENT_NAME_SEAL, AttachmentMeta, BODY_SEAL, MessageRecord, NewAttachment,
    SUBJECT_SEAL, ThreadRow, ThreadSummary, thread_access,
};
use crate::admission::{Access, Admitted, Gated, Gatekeeper};
use crate::error::StoreError;
use crate::outbox::{Notice, NoticeKind, enqueue_in};
use crate::vault::{BlobRef, Vault};

/// Who writes a message, from which side.
#[derive(Clone)]
pub(crate) struct Author {
    pub(crate) side: Side,
    pub(crate) id: String,
}

/// The sealed parts of a message, ready to insert.
struct SealedMessage {
    id: MessageId,
    body: Vec<u8>,
    attachments: Vec<SealedAttachment>,
}

struct SealedAttachment {
    meta: AttachmentMeta,
    name: Vec<u8>,
    blob: BlobRef,
}

impl SealedMessage {
    fn blobs(&self) -> impl Iterator<Item = &BlobRef> {
        self.attachments.iter().map(|a| &a.blob)
    }
}

/// Seal the body and names, and store the sealed attachment blobs.
async fn seal_message(
    vault: &Vault,
    tenant: TenantId,
    body: &str,
    attachments: Vec<NewAttachment>,
) -> Result<SealedMessage, StoreError> {
    let id = MessageId::random();
    let sealed_body = vault
        .seal_value(tenant, BODY_SEAL, &id.to_string(), body.as_bytes())
        .await?;
    let mut sealed = SealedMessage {
        id,
        body: sealed_body,
        attachments: Vec::with_capacity(attachments.len()),
    };
    for attachment in attachments {
        let attachment_id = AttachmentId::random();
        let object = attachment_id.to_string();
        let stored = async {
            let name = vault
                .seal_value(
                    tenant,
                    ATTACHMENT_NAME_SEAL,
                    &object,
                    attachment.file_name.as_bytes(),
                )
                .await?;
            let size = attachment.bytes.len() as i64;
            let blob = vault
                .seal_and_put(tenant, ATTACHMENT_BLOB, &object, attachment.bytes)
                .await?;
            Ok::<_, StoreError>(SealedAttachment {
                meta: AttachmentMeta {
                    id: attachment_id,
                    kind: attachment.kind.as_str().to_owned(),
                    size,
                    file_name: attachment.file_name,
                },
                name,
                blob,
            })
        }
        .await;
        match stored {
            Ok(a) => sealed.attachments.push(a),
            Err(e) => {
                discard(vault, &sealed).await;
                return Err(e);
            }
        }
    }
    Ok(sealed)
}

async fn discard(vault: &Vault, sealed: &SealedMessage) {
    for blob in sealed.blobs() {
        vault.discard(blob).await;
    }
}

/// Insert the message and its attachments (rows and blob records).
async fn insert_message(
    tx: &mut Transaction<'static, Any>,
    tenant: TenantId,
    patient: PatientId,
    thread: ThreadId,
    author: &Author,
    message: &SealedMessage,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO messages (id, tenant_id, thread_id, patient_id, author_side, author_id, \
         body_sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(message.id.to_string())
    .bind(tenant.to_string())
    .bind(thread.to_string())
    .bind(patient.to_string())
    .bind(author.side.as_str())
    .bind(&author.id)
    .bind(&message.body)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    for (position, a) in message.attachments.iter().enumerate() {
        sqlx::query(
            "INSERT INTO message_attachments (id, tenant_id, thread_id, message_id, patient_id, \
             position, kind, size, name_sealed, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(a.meta.id.to_string())
        .bind(tenant.to_string())
        .bind(thread.to_string())
        .bind(message.id.to_string())
        .bind(patient.to_string())
        .bind(position as i64)
        .bind(&a.meta.kind)
        .bind(a.meta.size)
        .bind(&a.name)
        .bind(at)
        .execute(&mut **tx)
        .await?;
        Vault::record(tx, &a.blob, tenant, ATTACHMENT_BLOB, &a.meta.id.to_string()).await?;
    }
    Ok(())
}

fn record_of(message: SealedMessage, author: &Author, body: String, at: i64) -> MessageRecord {
    MessageRecord {
        id: message.id,
        author_side: author.side,
        author_name: None,
        body,
        created_at: at,
        read_at: None,
        attachments: message.attachments.into_iter().map(|a| a.meta).collect(),
    }
}

/// Post a message to a thread the gate admitted for `MessagePost`: the
/// message row, its attachment rows and blob records, the thread's
/// counters and the audit record, in ONE transaction. A thread that is
/// not open (also when it was closed a moment ago) refuses, recorded,
/// and nothing stays behind.
pub(crate) async fn post_message(
    gk: &Gatekeeper,
    vault: &Vault,
    thread: Gated<ThreadRow>,
    author: Author,
    body: String,
    attachments: Vec<NewAttachment>,
) -> Result<Admitted<MessageRecord>, StoreError> {
    let t = &thread.get().summary;
    let (tenant, patient, id) = (t.tenant_id, t.patient_id, t.id);
    if let Err(e) = t.status.accept_message() {
        return Err(refuse(gk, t, e.into()).await);
    }
    let sealed = seal_message(vault, tenant, &body, attachments).await?;
    let written = async {
        let mut tx = gk.connections.begin(true).await?;
        let at = now_millis();
        // The status is checked again by the update itself: a thread
        // closed since it was read takes nothing.
        let bump = match author.side {
            Side::Staff => {
                "UPDATE threads SET last_message_at = $1, message_count = message_count + 1, \
                 patient_unread = patient_unread + 1 \
                 WHERE tenant_id = $2 AND id = $3 AND status = 'open'"
            }
            Side::Patient => {
                "UPDATE threads SET last_message_at = $1, message_count = message_count + 1, \
                 staff_unread = staff_unread + 1 \
                 WHERE tenant_id = $2 AND id = $3 AND status = 'open'"
            }
        };
        let bumped = sqlx::query(bump)
            .bind(at)
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if bumped == 0 {
            let status: String =
                sqlx::query("SELECT status FROM threads WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.to_string())
                    .bind(id.to_string())
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("status")?;
            let status = ThreadStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt("thread status".into()))?;
            return Ok(Err(status.accept_message().err().map_or_else(
                || StoreError::Corrupt("an open thread refused a message".into()),
                StoreError::from,
            )));
        }
        insert_message(&mut tx, tenant, patient, id, &author, &sealed, at).await?;
        notify_patient(&mut tx, tenant, patient, author.side).await?;
        Ok::<_, StoreError>(Ok((tx, at)))
    }
    .await;
    let (tx, at) = match written {
        Ok(Ok(done)) => done,
        Ok(Err(refused)) => {
            discard(vault, &sealed).await;
            return Err(refuse(gk, t, refused).await);
        }
        Err(e) => {
            discard(vault, &sealed).await;
            return Err(e);
        }
    };
    let access = Access::of(sealed.id)
        .concerning(tenant, Some(patient))
        .detail(format!(
            "thread={id} attachments={}",
            sealed.attachments.len()
        ));
    let record = record_of(sealed, &author, body, at);
    let blobs: Vec<BlobRef> = record
        .attachments
        .iter()
        .map(|a| BlobRef {
            name: Vault::blob_name(tenant, ATTACHMENT_BLOB, &a.id.to_string()),
            sealed_size: 0,
        })
        .collect();
    match gk
        .commit(tx, thread.with(|_| record), ResourceKind::Message, access)
        .await
    {
        Ok(admitted) => Ok(admitted),
        Err(e) => {
            for blob in &blobs {
                vault.discard(blob).await;
            }
            Err(e)
        }
    }
}

/// A message from staff tells the patient, by a mail with no content,
/// written in the message's own transaction (nothing sent for a message
/// that rolls back, nothing lost for one that commits). The patient's own
/// messages notify nobody: the staff inbox shows them.
async fn notify_patient(
    tx: &mut Transaction<'static, Any>,
    tenant: TenantId,
    patient: PatientId,
    side: Side,
) -> Result<(), StoreError> {
    if side != Side::Staff {
        return Ok(());
    }
    let notice = Notice {
        tenant,
        patient,
        kind: NoticeKind::NewMessage,
    };
    enqueue_in(tx, &notice).await
}

/// Record a refused post and hand the refusal on.
async fn refuse(gk: &Gatekeeper, t: &ThreadSummary, error: StoreError) -> StoreError {
    let event = AuditEvent::new(
        Action::MessagePost,
        ResourceKind::Message,
        Outcome::Rejected,
    )
    .resource(t.id)
    .concerning(t.tenant_id, Some(t.patient_id));
    gk.actor.rejected(event, error).await
}

/// What a new thread is: where, about whom, by whom, and its first message.
pub(crate) struct NewThreadRow {
    pub(crate) tenant: TenantId,
    pub(crate) patient: PatientId,
    pub(crate) tenant_name: String,
    pub(crate) subject: String,
    pub(crate) body: String,
    pub(crate) author: Author,
}

/// Create a thread with its first message in one transaction with its
/// audit record; the patient record was admitted for `ThreadCreate`.
pub(crate) async fn insert_thread<T>(
    gk: &Gatekeeper,
    vault: &Vault,
    admitted_patient: Gated<T>,
    new: NewThreadRow,
) -> Result<Admitted<ThreadSummary>, StoreError> {
    let id = ThreadId::random();
    let subject = vault
        .seal_value(
            new.tenant,
            SUBJECT_SEAL,
            &id.to_string(),
            new.subject.as_bytes(),
        )
        .await?;
    let message = seal_message(vault, new.tenant, &new.body, Vec::new()).await?;
    let at = now_millis();
    let (staff_unread, patient_unread) = match new.author.side {
        Side::Staff => (0i64, 1i64),
        Side::Patient => (1, 0),
    };
    let mut tx = gk.connections.begin(true).await?;
    sqlx::query(
        "INSERT INTO threads (id, tenant_id, patient_id, subject_sealed, status, created_by_side, \
         created_by, created_at, last_message_at, message_count, staff_unread, patient_unread) \
         VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, 1, $9, $10)",
    )
    .bind(id.to_string())
    .bind(new.tenant.to_string())
    .bind(new.patient.to_string())
    .bind(&subject)
    .bind(new.author.side.as_str())
    .bind(&new.author.id)
    .bind(at)
    .bind(at)
    .bind(staff_unread)
    .bind(patient_unread)
    .execute(&mut *tx)
    .await?;
    insert_message(
        &mut tx,
        new.tenant,
        new.patient,
        id,
        &new.author,
        &message,
        at,
    )
    .await?;
    notify_patient(&mut tx, new.tenant, new.patient, new.author.side).await?;
    let summary = ThreadSummary {
        id,
        tenant_id: new.tenant,
        tenant_name: new.tenant_name,
        patient_id: new.patient,
        patient_name: None,
        subject: new.subject,
        status: ThreadStatus::Open,
        assigned_to: None,
        assigned_name: None,
        created_at: at,
        last_message_at: at,
        message_count: 1,
        unread: 0,
    };
    let access = thread_access(&summary).detail(format!("message={}", message.id));
    gk.commit(
        tx,
        admitted_patient.with(|_| summary),
        ResourceKind::Thread,
        access,
    )
    .await
}
