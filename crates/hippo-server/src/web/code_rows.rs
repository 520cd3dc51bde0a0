//! Retrieval codes as the staff finding page lists them (never the code).

use hippo_core::time_util::human;

/// A code as a row on the staff finding page.
pub struct CodeRow {
    pub id: String,
    pub created: String,
    pub expires: String,
    pub state: &'static str,
    pub attempts_left: i64,
    pub revocable: bool,
}

impl From<&hippo_store::RetrievalCodeRecord> for CodeRow {
    fn from(c: &hippo_store::RetrievalCodeRecord) -> Self {
        let now = hippo_core::time_util::now_millis();
        let state = if c.revoked_at.is_some() {
            "revoked"
        } else if c.attempts_left() == 0 {
            "locked"
        } else if c.expires_at <= now {
            "expired"
        } else {
            "active"
        };
        Self {
            id: c.id.to_string(),
            created: human(c.created_at),
            expires: human(c.expires_at),
            state,
            attempts_left: c.attempts_left(),
            revocable: c.revoked_at.is_none(),
        }
    }
}
