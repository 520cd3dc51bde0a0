//! Staff: the facility's messages one at a time, for FHIR `Communication`
//! (issue 13). Read and searched without marking anything read; gated as
//! reading the message's thread.

use hippo_core::MessageId;
use hippo_core::messaging::Side;
use hippo_core::policy::{Action, ResourceKind, ResourceRef};

use super::StaffScope;
use crate::admission::Admitted;
use crate::error::StoreError;
use crate::messaging::Reader;
use crate::messaging::communications::{
    self, CommunicationPage, CommunicationRecord, MessageQuery, MessageStatements,
    fenced_message_statements,
};

/// FHIR `Communication/{id}` and `Communication?` for staff: the
/// facility's messages.
const MESSAGES: MessageStatements = fenced_message_statements!("(m.tenant_id = $1) /* fence */");

const READER: Reader = Reader { side: Side::Staff };

impl StaffScope {
    /// One message of the facility's threads, as it stands (nothing is
    /// marked read).
    pub async fn communication(
        &self,
        id: MessageId,
    ) -> Result<Admitted<CommunicationRecord>, StoreError> {
        let action = self.gk.serving(&[Action::ThreadRead])?;
        let tenant = self.tenant.to_string();
        let row = self
            .gk
            .fetch_one(
                &MESSAGES.by_id,
                move |q| q.bind(tenant).bind(id.to_string()),
                action,
                id,
            )
            .await?;
        communications::admit_one(&self.gk, &self.vault, READER, row).await
    }

    /// A page of the facility's messages, newest (or oldest) first.
    pub async fn communications(
        &self,
        query: &MessageQuery,
    ) -> Result<Admitted<CommunicationPage>, StoreError> {
        let action = self.gk.serving(&[Action::ThreadList])?;
        let tenant = ResourceRef::Tenant(self.tenant);
        self.gk
            .require(action, &tenant, ResourceKind::Thread, self.tenant)
            .await?;
        let rows = self
            .gk
            .fetch_all(
                MESSAGES.search(query),
                query.bind(self.tenant.to_string()),
                Action::ThreadRead,
            )
            .await?;
        communications::admit_page(&self.gk, &self.vault, READER, query, rows, |_| true).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_statement_is_fenced_by_tenant() {
        for statement in super::MESSAGES.all() {
            let fence = statement.sql.find(") /* fence */").expect("a fence");
            assert!(statement.sql[..fence].ends_with("(m.tenant_id = $1"));
        }
    }
}
