//! Messages one at a time, for FHIR `Communication` (issue 13): read by ID
//! and searched by patient and sent time, without marking anything read.
//! A FHIR client fetching messages is not the patient or the facility
//! opening the thread, so `read_at` and the unread counters stay as they
//! were. The statements, with their fences, sit with each scope
//! (`staff_scope/threads.rs`, `patient_threads.rs`); this module holds the
//! columns, the query, and how a page is opened and admitted.

use std::collections::BTreeSet;

use hippo_core::messaging::ThreadStatus;
use hippo_core::policy::{ResourceKind, ResourceRef};
use hippo_core::time_util::UnixMillis;
use hippo_core::{MessageId, PatientId, TenantId, ThreadId};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{
    MessageRecord, Reader, SUBJECT_SEAL, SealedMessageRow, attachment_rows_of,
    open_attachment_names, open_message, sealed_message_row, text,
};
use crate::admission::{Access, Admitted, Bound, Gated, Gatekeeper, Statement};
use crate::error::StoreError;
use crate::patient_scope::per_patient_accesses;
use crate::rows::parse;
use crate::search::{MAX_OFFSET, MAX_PAGE};
use crate::vault::Vault;

/// What a search of messages asks for; the window (half-open) is on the
/// time a message was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageQuery {
    pub patient: Option<PatientId>,
    pub from: UnixMillis,
    pub until: UnixMillis,
    /// Newest first when true, oldest first otherwise.
    pub newest_first: bool,
    pub count: u32,
    pub offset: u32,
}

impl Default for MessageQuery {
    fn default() -> Self {
        Self {
            patient: None,
            from: i64::MIN / 2,
            until: i64::MAX / 2,
            newest_first: true,
            count: 20,
            offset: 0,
        }
    }
}

impl MessageQuery {
    fn size(&self) -> usize {
        self.count.clamp(1, MAX_PAGE) as usize
    }

    /// Binds `$2..$6` after the fence's `$1`: patient, window, limit (one
    /// more than the page, to know whether another follows), offset.
    pub(crate) fn bind(&self, fence: String) -> impl FnOnce(Bound<'static>) -> Bound<'static> {
        let patient = self.patient.map(|p| p.to_string()).unwrap_or_default();
        let (from, until) = (self.from, self.until);
        let limit = self.size() as i64 + 1;
        let skip = i64::from(self.offset.min(MAX_OFFSET));
        move |q| {
            q.bind(fence)
                .bind(patient)
                .bind(from)
                .bind(until)
                .bind(limit)
                .bind(skip)
        }
    }
}

/// The columns of a message row (`m`, its thread `t`, tenant `tn`,
/// patient `p`, staff author `s`), with the message it answers: the one
/// before it in its thread.
macro_rules! message_columns {
    () => {
        "SELECT m.id, m.tenant_id, tn.name AS tenant_name, m.thread_id, m.patient_id, \
          m.author_side, m.body_sealed, m.created_at, m.read_at, t.status AS thread_status, \
          t.subject_sealed, s.display_name AS staff_name, \
          tn.show_staff_names_to_patients AS show_names, \
          p.given_name || ' ' || p.family_name AS patient_name, \
          (SELECT r.id FROM messages r WHERE r.tenant_id = m.tenant_id \
          AND r.thread_id = m.thread_id AND (r.created_at < m.created_at \
          OR (r.created_at = m.created_at AND r.id < m.id)) \
          ORDER BY r.created_at DESC, r.id DESC LIMIT 1) AS in_response_to \
          FROM messages m JOIN threads t ON t.tenant_id = m.tenant_id AND t.id = m.thread_id \
          JOIN tenants tn ON tn.id = m.tenant_id \
          JOIN patients p ON p.tenant_id = m.tenant_id AND p.id = m.patient_id \
          LEFT JOIN staff_users s ON s.id = m.author_id AND s.tenant_id = m.tenant_id WHERE "
    };
}
pub(crate) use message_columns;

/// A scope's three message statements — one by ID, a search newest first
/// and oldest first — around its fence predicate (a literal, marked
/// `/* fence */`). The search filters bind what [`MessageQuery::bind`]
/// binds.
pub(crate) struct MessageStatements {
    pub(crate) by_id: Statement<CommunicationRow>,
    pub(crate) newest: Statement<CommunicationRow>,
    pub(crate) oldest: Statement<CommunicationRow>,
}

impl MessageStatements {
    /// The search statement in the order `query` asks for.
    pub(crate) fn search(&self, query: &MessageQuery) -> &Statement<CommunicationRow> {
        if query.newest_first {
            &self.newest
        } else {
            &self.oldest
        }
    }

    /// Every statement, for the fence tests.
    #[cfg(test)]
    pub(crate) fn all(&self) -> [&Statement<CommunicationRow>; 3] {
        [&self.by_id, &self.newest, &self.oldest]
    }
}

pub(crate) const fn statement(sql: &'static str) -> Statement<CommunicationRow> {
    Statement {
        sql,
        map: communication_row,
        resource: communication_ref,
        kind: ResourceKind::Thread,
    }
}

macro_rules! fenced_message_statements {
    ($fence:literal) => {
        $crate::messaging::communications::MessageStatements {
            by_id: $crate::messaging::communications::statement(concat!(
                $crate::messaging::communications::message_columns!(),
                $fence,
                " AND m.id = $2"
            )),
            newest: $crate::messaging::communications::statement(concat!(
                $crate::messaging::communications::message_columns!(),
                $fence,
                " AND ($2 = '' OR m.patient_id = $2) AND m.created_at >= $3 \
                 AND m.created_at < $4 ORDER BY m.created_at DESC, m.id DESC LIMIT $5 OFFSET $6"
            )),
            oldest: $crate::messaging::communications::statement(concat!(
                $crate::messaging::communications::message_columns!(),
                $fence,
                " AND ($2 = '' OR m.patient_id = $2) AND m.created_at >= $3 \
                 AND m.created_at < $4 ORDER BY m.created_at, m.id LIMIT $5 OFFSET $6"
            )),
        }
    };
}
pub(crate) use fenced_message_statements;

/// One message with what its `Communication` names of its thread.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CommunicationRecord {
    pub tenant_id: TenantId,
    pub tenant_name: String,
    pub patient_id: PatientId,
    pub thread_id: ThreadId,
    pub thread_status: ThreadStatus,
    pub subject: String,
    /// The message before this one in its thread.
    pub in_response_to: Option<MessageId>,
    pub message: MessageRecord,
}

/// One page of messages.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CommunicationPage {
    pub communications: Vec<CommunicationRecord>,
    pub has_more: bool,
}

/// A message row as fetched: body and subject still sealed.
#[derive(Clone)]
pub(crate) struct CommunicationRow {
    tenant_id: TenantId,
    tenant_name: String,
    patient_id: PatientId,
    thread_id: ThreadId,
    thread_status: ThreadStatus,
    subject_sealed: Vec<u8>,
    in_response_to: Option<MessageId>,
    message: SealedMessageRow,
}

/// Reads the columns of [`message_columns`].
pub(crate) fn communication_row(row: &AnyRow) -> Result<CommunicationRow, StoreError> {
    let status: String = row.try_get("thread_status")?;
    let previous: Option<String> = row.try_get("in_response_to")?;
    Ok(CommunicationRow {
        tenant_id: parse(row, "tenant_id")?,
        tenant_name: row.try_get("tenant_name")?,
        patient_id: parse(row, "patient_id")?,
        thread_id: parse(row, "thread_id")?,
        thread_status: ThreadStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt("thread status".into()))?,
        subject_sealed: row.try_get("subject_sealed")?,
        in_response_to: previous
            .map(|p| p.parse())
            .transpose()
            .map_err(|_| StoreError::Corrupt("message id".into()))?,
        message: sealed_message_row(row)?,
    })
}

/// What the gate judges of a message: its thread, as reading the thread.
pub(crate) fn communication_ref(c: &CommunicationRow) -> ResourceRef {
    ResourceRef::Thread {
        tenant: c.tenant_id,
        patient: c.patient_id,
        thread: c.thread_id,
        status: c.thread_status,
    }
}

impl CommunicationRow {
    pub(crate) fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }
}

/// Open admitted rows: subjects, bodies and attachment names.
async fn open_rows(
    gk: &Gatekeeper,
    vault: &Vault,
    reader: Reader,
    rows: Vec<CommunicationRow>,
) -> Result<Vec<CommunicationRecord>, StoreError> {
    // The attachments of the page's messages, fetched once per thread;
    // only theirs are opened.
    let on_page: BTreeSet<MessageId> = rows.iter().map(|r| r.message.id).collect();
    let mut threads: Vec<(TenantId, ThreadId)> =
        rows.iter().map(|r| (r.tenant_id, r.thread_id)).collect();
    threads.sort();
    threads.dedup();
    let mut sealed = Vec::with_capacity(threads.len());
    {
        let mut conn = gk.connections.acquire().await?;
        for (tenant, thread) in &threads {
            let mut of_page = Vec::new();
            for row in attachment_rows_of(&mut conn, *tenant, *thread).await? {
                if on_page.contains(&parse::<MessageId>(&row, "message_id")?) {
                    of_page.push(row);
                }
            }
            sealed.push((*tenant, of_page));
        }
    }
    let mut attachments = Vec::new();
    for (tenant, rows) in &sealed {
        attachments.extend(open_attachment_names(vault, *tenant, rows).await?);
    }
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let id = row.thread_id.to_string();
        let subject = text(
            vault
                .open_value(row.tenant_id, SUBJECT_SEAL, &id, &row.subject_sealed)
                .await?,
            "subject",
        )?;
        let message = open_message(vault, row.tenant_id, reader, row.message, &attachments).await?;
        records.push(CommunicationRecord {
            tenant_id: row.tenant_id,
            tenant_name: row.tenant_name,
            patient_id: row.patient_id,
            thread_id: row.thread_id,
            thread_status: row.thread_status,
            subject,
            in_response_to: row.in_response_to,
            message,
        });
    }
    Ok(records)
}

/// A page of the rows the gate let through (and the caller's filter
/// kept), opened and recorded once per patient record shown.
pub(crate) async fn admit_page(
    gk: &Gatekeeper,
    vault: &Vault,
    reader: Reader,
    query: &MessageQuery,
    rows: Gated<Vec<CommunicationRow>>,
    keep: impl Fn(&CommunicationRow) -> bool,
) -> Result<Admitted<CommunicationPage>, StoreError> {
    let mut kept: Vec<CommunicationRow> = rows.get().iter().filter(|r| keep(r)).cloned().collect();
    let has_more = kept.len() > query.size();
    kept.truncate(query.size());
    let communications = open_rows(gk, vault, reader, kept).await?;
    let accesses = per_patient_accesses(communications.iter().map(|c| (c.tenant_id, c.patient_id)));
    let page = rows.with(|_| CommunicationPage {
        communications,
        has_more,
    });
    gk.admit(page, ResourceKind::Thread, accesses).await
}

/// One message the gate let through, opened and recorded (the message
/// and its thread named).
pub(crate) async fn admit_one(
    gk: &Gatekeeper,
    vault: &Vault,
    reader: Reader,
    row: Gated<CommunicationRow>,
) -> Result<Admitted<CommunicationRecord>, StoreError> {
    let mut records = open_rows(gk, vault, reader, vec![row.get().clone()]).await?;
    let Some(record) = records.pop() else {
        return Err(StoreError::Corrupt("message row".into()));
    };
    let access = Access::of(record.message.id)
        .concerning(record.tenant_id, Some(record.patient_id))
        .detail(format!("thread={}", record.thread_id));
    gk.admit(row.with(|_| record), ResourceKind::Thread, vec![access])
        .await
}
