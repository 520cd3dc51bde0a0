//! A patient account's messaging: its threads at every facility it is a
//! patient of (never a retracted one), a new thread to one of those
//! facilities, replies, and attachment downloads. The account is the
//! fence predicate of every statement (`ap.account_id = $1`).

use hippo_core::messaging::Side;
use hippo_core::policy::{Action, ResourceKind, ResourceRef};
use hippo_core::{AttachmentId, PatientId, TenantId, ThreadId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::admission::{Admitted, Bound, Gated, Statement};
use crate::error::StoreError;
use crate::messaging::{
    self, AttachmentFile, AttachmentRow, MessageRecord, NewAttachment, NewThreadRow, PageCursor,
    Reader, ThreadDetail, ThreadPage, ThreadRow, ThreadSummary, UnreadTotal, attachment_ref,
    thread_ref,
};
use crate::patient_scope::PatientScope;
use crate::rows::parse;

/// `GET /api/v1/threads/{id}` for a patient: an own thread, not retracted.
const OWN_THREAD_BY_ID: Statement<ThreadRow> = Statement {
    sql: "SELECT t.id, t.tenant_id, tn.name AS tenant_name, t.patient_id, \
          CAST(NULL AS TEXT) AS patient_name, t.subject_sealed, t.status, \
          CAST(NULL AS TEXT) AS assigned_to, CAST(NULL AS TEXT) AS assigned_name, t.created_at, \
          t.last_message_at, t.message_count, t.patient_unread AS unread \
          FROM threads t JOIN tenants tn ON tn.id = t.tenant_id \
          WHERE t.id = $2 AND t.status <> 'retracted' AND ((t.tenant_id, t.patient_id) IN \
          (SELECT ap.tenant_id, ap.patient_id FROM account_patients ap WHERE ap.account_id = $1)) /* fence */",
    map: messaging::thread_row,
    resource: thread_ref,
    kind: ResourceKind::Thread,
};

/// `GET /api/v1/threads` for a patient: own threads at all facilities,
/// newest activity first, one page after the cursor.
const OWN_THREADS: Statement<ThreadRow> = Statement {
    sql: "SELECT t.id, t.tenant_id, tn.name AS tenant_name, t.patient_id, \
          CAST(NULL AS TEXT) AS patient_name, t.subject_sealed, t.status, \
          CAST(NULL AS TEXT) AS assigned_to, CAST(NULL AS TEXT) AS assigned_name, t.created_at, \
          t.last_message_at, t.message_count, t.patient_unread AS unread \
          FROM threads t JOIN tenants tn ON tn.id = t.tenant_id \
          WHERE t.status <> 'retracted' AND ((t.tenant_id, t.patient_id) IN \
          (SELECT ap.tenant_id, ap.patient_id FROM account_patients ap WHERE ap.account_id = $1)) /* fence */ \
          AND (t.last_message_at < $2 OR (t.last_message_at = $2 AND t.id < $3)) \
          ORDER BY t.last_message_at DESC, t.id DESC LIMIT $4",
    map: messaging::thread_row,
    resource: thread_ref,
    kind: ResourceKind::Thread,
};

/// Unread messages over the account's threads (one row, or none).
const OWN_UNREAD: Statement<UnreadTotal> = Statement {
    sql: "SELECT ap.account_id, CAST(SUM(t.patient_unread) AS BIGINT) AS total \
          FROM threads t JOIN account_patients ap \
          ON ap.tenant_id = t.tenant_id AND ap.patient_id = t.patient_id \
          WHERE (ap.account_id = $1) /* fence */ AND t.status <> 'retracted' \
          AND t.patient_unread > 0 GROUP BY ap.account_id",
    map: |row| {
        Ok(UnreadTotal {
            owner: ResourceRef::Account(parse(row, "account_id")?),
            total: row.try_get("total")?,
        })
    },
    resource: |u| u.owner,
    kind: ResourceKind::Thread,
};

/// The account's patient record at one facility: where a new thread goes.
struct LinkRow {
    tenant: TenantId,
    patient: PatientId,
    tenant_name: String,
}

fn link_row(row: &AnyRow) -> Result<LinkRow, StoreError> {
    Ok(LinkRow {
        tenant: parse(row, "tenant_id")?,
        patient: parse(row, "patient_id")?,
        tenant_name: row.try_get("tenant_name")?,
    })
}

const OWN_RECORD_AT: Statement<LinkRow> = Statement {
    sql: "SELECT ap.tenant_id, ap.patient_id, tn.name AS tenant_name \
          FROM account_patients ap JOIN tenants tn ON tn.id = ap.tenant_id \
          WHERE (ap.account_id = $1) /* fence */ AND ap.tenant_id = $2 AND tn.deleted_at IS NULL",
    map: link_row,
    resource: |l| ResourceRef::Patient {
        tenant: l.tenant,
        patient: l.patient,
    },
    kind: ResourceKind::Patient,
};

/// The facilities the account may start a thread with.
const OWN_RECORDS: Statement<LinkRow> = Statement {
    sql: "SELECT ap.tenant_id, ap.patient_id, tn.name AS tenant_name \
          FROM account_patients ap JOIN tenants tn ON tn.id = ap.tenant_id \
          WHERE (ap.account_id = $1) /* fence */ AND tn.deleted_at IS NULL ORDER BY tn.name",
    map: link_row,
    resource: |l| ResourceRef::Patient {
        tenant: l.tenant,
        patient: l.patient,
    },
    kind: ResourceKind::Patient,
};

/// `GET /api/v1/attachments/{id}` for a patient.
const OWN_ATTACHMENT_BY_ID: Statement<AttachmentRow> = Statement {
    sql: "SELECT a.id, a.tenant_id, a.patient_id, a.thread_id, a.kind, a.size, a.name_sealed, \
          t.status AS thread_status \
          FROM message_attachments a JOIN threads t ON t.tenant_id = a.tenant_id AND t.id = a.thread_id \
          WHERE a.id = $2 AND t.status <> 'retracted' AND ((a.tenant_id, a.patient_id) IN \
          (SELECT ap.tenant_id, ap.patient_id FROM account_patients ap WHERE ap.account_id = $1)) /* fence */",
    map: messaging::attachment_row,
    resource: attachment_ref,
    kind: ResourceKind::Attachment,
};

impl PatientScope {
    fn bind_own_id(&self, id: impl ToString) -> impl FnOnce(Bound<'static>) -> Bound<'static> {
        let (account, id) = (self.account.to_string(), id.to_string());
        move |q| q.bind(account).bind(id)
    }

    fn reader(&self) -> Reader {
        Reader {
            side: Side::Patient,
        }
    }

    fn author(&self) -> messaging::write::Author {
        messaging::write::Author {
            side: Side::Patient,
            id: self.account.to_string(),
        }
    }

    async fn gated_thread(
        &self,
        id: ThreadId,
        action: Action,
    ) -> Result<Gated<ThreadRow>, StoreError> {
        self.gk
            .fetch_one(&OWN_THREAD_BY_ID, self.bind_own_id(id), action, id)
            .await
    }

    /// Own threads at every facility, one page, with the unread total.
    pub async fn threads(
        &self,
        before: Option<PageCursor>,
        limit: i64,
    ) -> Result<Admitted<ThreadPage>, StoreError> {
        let action = self.gk.serving(&[Action::ThreadList])?;
        let account = ResourceRef::Account(self.account);
        self.gk
            .require(action, &account, ResourceKind::Thread, self.account)
            .await?;
        let (at, id) = PageCursor::bounds(before);
        let me = self.account.to_string();
        let rows = self
            .gk
            .fetch_all(
                &OWN_THREADS,
                move |q| q.bind(me).bind(at).bind(id).bind(limit),
                Action::ThreadRead,
            )
            .await?;
        // Threads of a facility whose messaging is switched off are left out.
        let rows = rows.with(|rows| {
            rows.into_iter()
                .filter(|t| self.listable(action, t.summary.tenant_id))
                .collect()
        });
        let me = self.account.to_string();
        let unread = self
            .gk
            .fetch_all(&OWN_UNREAD, move |q| q.bind(me), Action::ThreadList)
            .await?;
        messaging::admit_page(&self.gk, &self.vault, rows, unread, limit as usize).await
    }

    /// One own thread with its messages; marks the facility's messages read
    /// for the patient side.
    pub async fn thread(&self, id: ThreadId) -> Result<Admitted<ThreadDetail>, StoreError> {
        let action = self.gk.serving(&[Action::ThreadRead])?;
        let row = self.gated_thread(id, action).await?;
        self.available(action, row.get().summary.tenant_id)?;
        messaging::read_thread(&self.gk, &self.vault, self.reader(), row).await
    }

    /// Start a thread with a facility the account is a patient of; any
    /// other facility answers "not found".
    pub async fn start_thread(
        &self,
        tenant: TenantId,
        subject: String,
        body: String,
    ) -> Result<Admitted<ThreadSummary>, StoreError> {
        let action = self.gk.serving(&[Action::ThreadCreate])?;
        let link = self
            .gk
            .fetch_one(&OWN_RECORD_AT, self.bind_own_id(tenant), action, tenant)
            .await?;
        let l = link.get();
        self.available(action, l.tenant)?;
        let new = NewThreadRow {
            tenant: l.tenant,
            patient: l.patient,
            tenant_name: l.tenant_name.clone(),
            subject,
            body,
            author: self.author(),
        };
        messaging::insert_thread(&self.gk, &self.vault, link, new).await
    }

    /// The facilities (ID, name) the account can write to, for the form
    /// of a new thread.
    pub async fn correspondents(&self) -> Result<Admitted<Vec<(TenantId, String)>>, StoreError> {
        let action = self.gk.serving(&[Action::ThreadCreate])?;
        let me = self.account.to_string();
        let links = self
            .gk
            .fetch_all(&OWN_RECORDS, move |q| q.bind(me), action)
            .await?;
        let links = links.with(|links| {
            links
                .into_iter()
                .filter(|l| self.listable(action, l.tenant))
                .collect::<Vec<_>>()
        });
        let accesses = crate::patient_scope::per_patient_accesses(
            links.get().iter().map(|l| (l.tenant, l.patient)),
        );
        let facilities = links.with(|links| {
            links
                .into_iter()
                .map(|l| (l.tenant, l.tenant_name))
                .collect()
        });
        self.gk
            .admit(facilities, ResourceKind::Patient, accesses)
            .await
    }

    pub async fn post_message(
        &self,
        thread: ThreadId,
        body: String,
        attachments: Vec<NewAttachment>,
    ) -> Result<Admitted<MessageRecord>, StoreError> {
        let action = self.gk.serving(&[Action::MessagePost])?;
        let row = self.gated_thread(thread, action).await?;
        self.available(action, row.get().summary.tenant_id)?;
        messaging::post_message(&self.gk, &self.vault, row, self.author(), body, attachments).await
    }

    pub async fn attachment(
        &self,
        id: AttachmentId,
    ) -> Result<Admitted<AttachmentFile>, StoreError> {
        let action = self.gk.serving(&[Action::AttachmentDownload])?;
        let row = self
            .gk
            .fetch_one(&OWN_ATTACHMENT_BY_ID, self.bind_own_id(id), action, id)
            .await?;
        self.available(action, row.get().tenant_id)?;
        messaging::open_attachment(&self.gk, &self.vault, row).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_statement_is_fenced_by_account() {
        for sql in [
            super::OWN_THREAD_BY_ID.sql,
            super::OWN_THREADS.sql,
            super::OWN_UNREAD.sql,
            super::OWN_RECORD_AT.sql,
            super::OWN_ATTACHMENT_BY_ID.sql,
            super::OWN_RECORDS.sql,
        ] {
            let fence = sql.find(") /* fence */").expect("a fence predicate");
            assert!(sql[..fence].contains("ap.account_id = $1"), "{sql}");
        }
    }
}
