//! A patient account's messages one at a time, for FHIR `Communication`
//! (issue 13): those of its own threads at every facility (never of a
//! retracted thread, nor of a facility whose messaging is switched off).
//! Read and searched without marking anything read; gated as reading the
//! message's thread.

use hippo_core::MessageId;
use hippo_core::messaging::Side;
use hippo_core::policy::{Action, ResourceKind, ResourceRef};

use crate::admission::Admitted;
use crate::error::StoreError;
use crate::messaging::Reader;
use crate::messaging::communications::{
    self, CommunicationPage, CommunicationRecord, MessageQuery, MessageStatements,
    fenced_message_statements,
};
use crate::patient_scope::PatientScope;

/// FHIR `Communication/{id}` and `Communication?` for a patient: the
/// messages of its own patient records' threads.
const OWN_MESSAGES: MessageStatements = fenced_message_statements!(
    "t.status <> 'retracted' AND ((m.tenant_id, m.patient_id) IN \
     (SELECT ap.tenant_id, ap.patient_id FROM account_patients ap WHERE ap.account_id = $1)) /* fence */"
);

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
                &OWN_MESSAGES.by_id,
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
        let rows = self
            .gk
            .fetch_all(
                OWN_MESSAGES.search(query),
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
        for statement in super::OWN_MESSAGES.all() {
            let fence = statement.sql.find(") /* fence */").expect("a fence");
            assert!(statement.sql[..fence].contains("ap.account_id = $1"));
        }
    }
}
