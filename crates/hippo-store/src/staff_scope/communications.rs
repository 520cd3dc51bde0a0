//! Staff: the facility's messages one at a time, for FHIR `Communication`
//! (issue 13). Read and searched without marking anything read; gated as
//! reading the message's thread.

use hippo_core::MessageId;
use hippo_core::messaging::Side;
use hippo_core::policy::{Action, ResourceKind, ResourceRef};

use super::StaffScope;
use crate::admission::{Admitted, Statement};
use crate::error::StoreError;
use crate::messaging::Reader;
use crate::messaging::communications::{
    self, CommunicationPage, CommunicationRecord, CommunicationRow, MessageQuery,
    communication_ref, communication_row, message_columns, message_filters, messages_newest_first,
    messages_oldest_first,
};

/// The facility's fence on messages.
macro_rules! tenant_fence {
    () => {
        "(m.tenant_id = $1) /* fence */"
    };
}

/// FHIR `Communication/{id}` for staff.
const MESSAGE_BY_ID: Statement<CommunicationRow> = message_statement(concat!(
    message_columns!(),
    tenant_fence!(),
    " AND m.id = $2"
));

/// FHIR `Communication?` for staff: the facility's messages, filtered.
const MESSAGES_NEWEST: Statement<CommunicationRow> = message_statement(concat!(
    message_columns!(),
    tenant_fence!(),
    message_filters!(),
    messages_newest_first!()
));
const MESSAGES_OLDEST: Statement<CommunicationRow> = message_statement(concat!(
    message_columns!(),
    tenant_fence!(),
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
                &MESSAGE_BY_ID,
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
        let statement = if query.newest_first {
            &MESSAGES_NEWEST
        } else {
            &MESSAGES_OLDEST
        };
        let rows = self
            .gk
            .fetch_all(
                statement,
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
        for statement in [
            &super::MESSAGE_BY_ID,
            &super::MESSAGES_NEWEST,
            &super::MESSAGES_OLDEST,
        ] {
            let fence = statement.sql.find(") /* fence */").expect("a fence");
            assert!(statement.sql[..fence].ends_with("(m.tenant_id = $1"));
        }
    }
}
