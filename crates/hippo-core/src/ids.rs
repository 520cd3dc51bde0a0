//! Public identifiers. All are random UUID v4 (invariant 4): nothing
//! sequential and no creation time leaves the server.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (v4) identifier.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }
            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A facility (practice, lab, test centre).
    TenantId
);
uuid_id!(
    /// A staff member of exactly one tenant.
    StaffId
);
uuid_id!(
    /// A patient record; one per person and tenant.
    PatientId
);
uuid_id!(
    /// A person's login account, linked to one or more patient records.
    AccountId
);
uuid_id!(
    /// A finding (Befund): metadata, observations and a PDF.
    FindingId
);
uuid_id!(
    /// An audit record's public identifier.
    AuditRecordId
);
uuid_id!(
    /// An operator (vendor on-call staff) account.
    OperatorId
);
uuid_id!(
    /// A lab system's API key (the public part; the secret is separate).
    ApiKeyId
);

// Messaging (issue 11).
uuid_id!(
    /// A conversation between one facility and one of its patients.
    ThreadId
);
uuid_id!(
    /// One message of a thread.
    MessageId
);
uuid_id!(
    /// A file attached to a message.
    AttachmentId
);
uuid_id!(
    /// A retrieval code's public identifier (never the code itself).
    RetrievalCodeId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_v4_and_round_trip() {
        let a = FindingId::random();
        let b = FindingId::random();
        assert_ne!(a, b);
        assert_eq!(a.as_uuid().get_version_num(), 4);
        let parsed: FindingId = a.to_string().parse().unwrap();
        assert_eq!(parsed, a);
        assert!("17".parse::<FindingId>().is_err());
    }
}
