//! Staff: the facility's messaging inbox — list with filters, read a
//! thread, start one with a patient of the facility, reply, assign,
//! close, retract — and attachment downloads.

use hippo_core::audit::{AuditEvent, Outcome};
use hippo_core::messaging::{Side, ThreadStatus};
use hippo_core::policy::{Action, ResourceKind, ResourceRef};
use hippo_core::{AttachmentId, DomainError, PatientId, StaffId, ThreadId};
use sqlx::Row;

use super::StaffScope;
use crate::admission::{Admitted, Bound, Gated, Statement};
use crate::error::StoreError;
use crate::messaging::{
    self, AttachmentFile, AttachmentRow, InboxFilter, MessageRecord, NewAttachment, NewThreadRow,
    PageCursor, Reader, ThreadDetail, ThreadPage, ThreadRow, ThreadSummary, UnreadTotal,
    attachment_ref, thread_access, thread_ref,
};
use crate::rows::parse;

/// `GET /api/v1/threads/{id}` for staff, and every action on one thread.
const THREAD_BY_ID: Statement<ThreadRow> = Statement {
    sql: "SELECT t.id, t.tenant_id, tn.name AS tenant_name, t.patient_id, \
          p.given_name || ' ' || p.family_name AS patient_name, t.subject_sealed, t.status, \
          t.assigned_to, s.display_name AS assigned_name, t.created_at, t.last_message_at, \
          t.message_count, t.staff_unread AS unread \
          FROM threads t JOIN tenants tn ON tn.id = t.tenant_id \
          JOIN patients p ON p.tenant_id = t.tenant_id AND p.id = t.patient_id \
          LEFT JOIN staff_users s ON s.id = t.assigned_to AND s.tenant_id = t.tenant_id \
          WHERE (t.tenant_id = $1) /* fence */ AND t.id = $2",
    map: messaging::thread_row,
    resource: thread_ref,
    kind: ResourceKind::Thread,
};

/// `GET /api/v1/threads` for staff: the facility's inbox, newest activity
/// first, one page after the cursor. Filters are bound ('' or 0: off).
const INBOX: Statement<ThreadRow> = Statement {
    sql: "SELECT t.id, t.tenant_id, tn.name AS tenant_name, t.patient_id, \
          p.given_name || ' ' || p.family_name AS patient_name, t.subject_sealed, t.status, \
          t.assigned_to, s.display_name AS assigned_name, t.created_at, t.last_message_at, \
          t.message_count, t.staff_unread AS unread \
          FROM threads t JOIN tenants tn ON tn.id = t.tenant_id \
          JOIN patients p ON p.tenant_id = t.tenant_id AND p.id = t.patient_id \
          LEFT JOIN staff_users s ON s.id = t.assigned_to AND s.tenant_id = t.tenant_id \
          WHERE (t.tenant_id = $1) /* fence */ \
          AND ($2 = '' OR t.status = $2) AND ($3 = 0 OR t.staff_unread > 0) \
          AND ($4 = '' OR t.assigned_to = $4) \
          AND (t.last_message_at < $5 OR (t.last_message_at = $5 AND t.id < $6)) \
          ORDER BY t.last_message_at DESC, t.id DESC LIMIT $7",
    map: messaging::thread_row,
    resource: thread_ref,
    kind: ResourceKind::Thread,
};

/// Unread messages over the facility's threads (one row, or none).
const INBOX_UNREAD: Statement<UnreadTotal> = Statement {
    sql: "SELECT t.tenant_id, CAST(SUM(t.staff_unread) AS BIGINT) AS total FROM threads t \
          WHERE (t.tenant_id = $1) /* fence */ AND t.staff_unread > 0 \
          AND t.status <> 'retracted' GROUP BY t.tenant_id",
    map: |row| {
        Ok(UnreadTotal {
            owner: ResourceRef::Tenant(parse(row, "tenant_id")?),
            total: row.try_get("total")?,
        })
    },
    resource: |u| u.owner,
    kind: ResourceKind::Thread,
};

/// `GET /api/v1/attachments/{id}` for staff.
const ATTACHMENT_BY_ID: Statement<AttachmentRow> = Statement {
    sql: "SELECT a.id, a.tenant_id, a.patient_id, a.thread_id, a.kind, a.size, a.name_sealed, \
          t.status AS thread_status \
          FROM message_attachments a JOIN threads t ON t.tenant_id = a.tenant_id AND t.id = a.thread_id \
          WHERE (a.tenant_id = $1) /* fence */ AND a.id = $2",
    map: messaging::attachment_row,
    resource: attachment_ref,
    kind: ResourceKind::Attachment,
};

impl StaffScope {
    fn bind_thread(&self, id: ThreadId) -> impl FnOnce(Bound<'static>) -> Bound<'static> {
        let tenant = self.tenant.to_string();
        move |q| q.bind(tenant).bind(id.to_string())
    }

    fn reader(&self) -> Reader {
        Reader { side: Side::Staff }
    }

    async fn gated_thread(
        &self,
        id: ThreadId,
        action: Action,
    ) -> Result<Gated<ThreadRow>, StoreError> {
        self.gk
            .fetch_one(&THREAD_BY_ID, self.bind_thread(id), action, id)
            .await
    }

    /// The facility's inbox: one page, filtered, with the unread total.
    pub async fn inbox(
        &self,
        filter: &InboxFilter,
        before: Option<PageCursor>,
        limit: i64,
    ) -> Result<Admitted<ThreadPage>, StoreError> {
        let action = self.gk.serving(&[Action::ThreadList])?;
        let tenant = ResourceRef::Tenant(self.tenant);
        self.gk
            .require(action, &tenant, ResourceKind::Thread, self.tenant)
            .await?;
        let (at, id) = PageCursor::bounds(before);
        let status = filter.status.map(ThreadStatus::as_str).unwrap_or_default();
        let assignee = if filter.assigned_to_me {
            self.actor_id.clone()
        } else {
            String::new()
        };
        let tenant_text = self.tenant.to_string();
        let unread_only = i64::from(filter.unread_only);
        let rows = self
            .gk
            .fetch_all(
                &INBOX,
                move |q| {
                    q.bind(tenant_text)
                        .bind(status)
                        .bind(unread_only)
                        .bind(assignee)
                        .bind(at)
                        .bind(id)
                        .bind(limit)
                },
                Action::ThreadRead,
            )
            .await?;
        let unread = self
            .gk
            .fetch_all(
                &INBOX_UNREAD,
                |q| q.bind(self.tenant.to_string()),
                Action::ThreadList,
            )
            .await?;
        messaging::admit_page(&self.gk, &self.vault, rows, unread, limit as usize).await
    }

    /// One thread with its messages; marks the patient's messages read for
    /// the staff side.
    pub async fn thread(&self, id: ThreadId) -> Result<Admitted<ThreadDetail>, StoreError> {
        let action = self.gk.serving(&[Action::ThreadRead])?;
        let row = self.gated_thread(id, action).await?;
        messaging::read_thread(&self.gk, &self.vault, self.reader(), row).await
    }

    /// Start a thread with a patient of this facility.
    pub async fn start_thread(
        &self,
        patient: PatientId,
        subject: String,
        body: String,
    ) -> Result<Admitted<ThreadSummary>, StoreError> {
        let action = self.gk.serving(&[Action::ThreadCreate])?;
        let record = self.gated_patient(patient, action).await?;
        let tenant_name: String = {
            let mut conn = self.gk.connections.acquire().await?;
            sqlx::query("SELECT name FROM tenants WHERE id = $1")
                .bind(self.tenant.to_string())
                .fetch_one(&mut *conn)
                .await?
                .try_get("name")?
        };
        let new = NewThreadRow {
            tenant: self.tenant,
            patient: record.get().id,
            tenant_name,
            subject,
            body,
            author: self.author(),
        };
        messaging::insert_thread(&self.gk, &self.vault, record, new).await
    }

    fn author(&self) -> messaging::write::Author {
        messaging::write::Author {
            side: Side::Staff,
            id: self.actor_id.clone(),
        }
    }

    /// Reply to a thread of this facility.
    pub async fn post_message(
        &self,
        thread: ThreadId,
        body: String,
        attachments: Vec<NewAttachment>,
    ) -> Result<Admitted<MessageRecord>, StoreError> {
        let action = self.gk.serving(&[Action::MessagePost])?;
        let row = self.gated_thread(thread, action).await?;
        messaging::post_message(&self.gk, &self.vault, row, self.author(), body, attachments).await
    }

    /// Assign a thread to a staff member of this facility, or unassign it.
    pub async fn assign_thread(
        &self,
        id: ThreadId,
        staff: Option<StaffId>,
    ) -> Result<Admitted<ThreadSummary>, StoreError> {
        self.change_thread(id, Action::ThreadAssign, ThreadStatus::assign, staff)
            .await
    }

    pub async fn close_thread(&self, id: ThreadId) -> Result<Admitted<ThreadSummary>, StoreError> {
        self.change_thread(id, Action::ThreadClose, ThreadStatus::close, None)
            .await
    }

    /// Withdraw a thread sent by mistake: the patient no longer sees it.
    pub async fn retract_thread(
        &self,
        id: ThreadId,
    ) -> Result<Admitted<ThreadSummary>, StoreError> {
        self.change_thread(id, Action::ThreadRetract, ThreadStatus::retract, None)
            .await
    }

    /// Check scope and policy, apply the domain rule under the write lock,
    /// write, audit: one transaction.
    async fn change_thread(
        &self,
        id: ThreadId,
        serves: Action,
        rule: fn(ThreadStatus) -> Result<ThreadStatus, DomainError>,
        assignee: Option<StaffId>,
    ) -> Result<Admitted<ThreadSummary>, StoreError> {
        let action = self.gk.serving(&[serves])?;
        let current = self.gated_thread(id, action).await?;
        let (tenant, patient) = (
            current.get().summary.tenant_id,
            current.get().summary.patient_id,
        );
        let mut tx = self.gk.connections.begin(true).await?;
        let status: String =
            sqlx::query("SELECT status FROM threads WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.to_string())
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .await?
                .try_get("status")?;
        let status = ThreadStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt("thread status".into()))?;
        let refused = |e: StoreError| async move {
            let event = AuditEvent::new(action, ResourceKind::Thread, Outcome::Rejected)
                .resource(id)
                .concerning(tenant, Some(patient));
            self.gk.actor.rejected(event, e).await
        };
        let next = match rule(status) {
            Ok(next) => next,
            Err(e) => {
                drop(tx);
                return Err(refused(e.into()).await);
            }
        };
        let staff = assignee.filter(|_| serves == Action::ThreadAssign);
        if let Some(staff) = staff {
            let known = sqlx::query("SELECT id FROM staff_users WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.to_string())
                .bind(staff.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if !known {
                drop(tx);
                let e = DomainError::invalid("staff_id", "is not a staff member of this facility");
                return Err(refused(e.into()).await);
            }
        }
        let detail = if serves == Action::ThreadAssign {
            sqlx::query("UPDATE threads SET assigned_to = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(staff.map(|s| s.to_string()))
                .bind(tenant.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            format!(
                "assigned_to={}",
                staff.map_or_else(|| "none".to_owned(), |s| s.to_string())
            )
        } else {
            sqlx::query("UPDATE threads SET status = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(next.as_str())
                .bind(tenant.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            format!("{}->{}", status.as_str(), next.as_str())
        };
        let changed = self
            .gk
            .reload_in(&mut tx, &THREAD_BY_ID, self.bind_thread(id))
            .await?;
        let changed = messaging::open_thread(&self.vault, changed).await?;
        let access = thread_access(changed.get()).detail(detail);
        self.gk
            .commit(tx, changed, ResourceKind::Thread, access)
            .await
    }

    /// An attachment of one of this facility's threads.
    pub async fn attachment(
        &self,
        id: AttachmentId,
    ) -> Result<Admitted<AttachmentFile>, StoreError> {
        let action = self.gk.serving(&[Action::AttachmentDownload])?;
        let tenant = self.tenant.to_string();
        let row = self
            .gk
            .fetch_one(
                &ATTACHMENT_BY_ID,
                move |q| q.bind(tenant).bind(id.to_string()),
                action,
                id,
            )
            .await?;
        messaging::open_attachment(&self.gk, &self.vault, row).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_statement_is_fenced_by_tenant() {
        for sql in [
            super::THREAD_BY_ID.sql,
            super::INBOX.sql,
            super::INBOX_UNREAD.sql,
        ] {
            assert!(sql.contains("(t.tenant_id = $1) /* fence */"), "{sql}");
        }
        assert!(
            super::ATTACHMENT_BY_ID
                .sql
                .contains("(a.tenant_id = $1) /* fence */")
        );
    }
}
