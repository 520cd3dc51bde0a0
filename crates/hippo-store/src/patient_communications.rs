//! A patient account's messages one at a time, for FHIR `Communication`
//! (issue 13): those of its own threads at every facility (never of a
//! retracted thread, nor of a facility whose messaging is switched off).
//! Read and searched without marking anything read; gated as reading the
//! message's thread.

use hippo_core::MessageId;
use hippo_core::messaging::Side;
use hippo_core::policy::{Action, ResourceKind, ResourceRef};

use crate::admission::{Admitted, Statement};
use crate::error::StoreError;
use crate::messaging::Reader;
use crate::messaging::communications::{
    self, CommunicationPage, CommunicationRecord, CommunicationRow, MessageQuery,
    communication_ref, communication_row, message_columns, message_filters, messages_newest_first,
    messages_oldest_first,
};
use crate::patient_scope::PatientScope;

/// The account's fence on messages: of its own patient records' threads.
macro_rules! own_fence {
    () => {
        "t.status <> 'retracted' AND ((m.tenant_id, m.patient_id) IN \
         (SELECT ap.tenant_id, ap.patient_id FROM account_patients ap WHERE ap.account_id = $1)) /* fence */"
    };
}

/// FHIR `Communication/{id}` for a patient.
const OWN_MESSAGE_BY_ID: Statement<CommunicationRow> =
    message_statement(concat!(message_columns!(), own_fence!(), " AND m.id = $2"));

/// FHIR `Communication?` for a patient: own messages, filtered.
const OWN_MESSAGES_NEWEST: Statement<CommunicationRow> = message_statement(concat!(
    message_columns!(),
    own_fence!(),
    message_filters!(),
    messages_newest_first!()
));
const OWN_MESSAGES_OLDEST: Statement<CommunicationRow> = message_statement(concat!(
    message_columns!(),
    own_fence!(),
    message_filters!(),
    messages_oldest_first!()
));

const fn message_statement(sql: &'static str) -> Statement<CommunicationRow> {
    Statement {
        sql,
        map: communication_row,
        resource: communication_ref,
        kind: ResourceKind::Thread,
    }
}

const READER: Reader = Reader {
    side: Side::Patient,
};

impl PatientScope {
    /// One own message, as it stands (nothing is marked read).
    pub async fn communication(
        &self,
        id: MessageId,
    ) -> Result<Admitted<CommunicationRecord>, StoreError> {
        let action = self.gk.serving(&[Action::ThreadRead])?;
        let (account, message) = (self.account.to_string(), id.to_string());
        let row = self
            .gk
            .fetch_one(
                &OWN_MESSAGE_BY_ID,
                move |q| q.bind(account).bind(message),
                action,
                id,
            )
            .await?;
        self.available(action, row.get().tenant_id())?;
        communications::admit_one(&self.gk, &self.vault, READER, row).await
    }

    /// A page of own messages at every facility, newest (or oldest) first.
    pub async fn communications(
        &self,
        query: &MessageQuery,
    ) -> Result<Admitted<CommunicationPage>, StoreError> {
        let action = self.gk.serving(&[Action::ThreadList])?;
        let account = ResourceRef::Account(self.account);
        self.gk
            .require(action, &account, ResourceKind::Thread, self.account)
            .await?;
        let statement = if query.newest_first {
            &OWN_MESSAGES_NEWEST
        } else {
            &OWN_MESSAGES_OLDEST
        };
        let rows = self
            .gk
            .fetch_all(
                statement,
                query.bind(self.account.to_string()),
                Action::ThreadRead,
            )
            .await?;
        communications::admit_page(&self.gk, &self.vault, READER, query, rows, |r| {
            self.listable(action, r.tenant_id())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_statement_is_fenced_by_account() {
        for statement in [
            &super::OWN_MESSAGE_BY_ID,
            &super::OWN_MESSAGES_NEWEST,
            &super::OWN_MESSAGES_OLDEST,
        ] {
            let fence = statement.sql.find(") /* fence */").expect("a fence");
            assert!(statement.sql[..fence].contains("ap.account_id = $1"));
        }
    }
}
