//! The tamper-evident audit log's mathematics, hand-written after RFC 9162
//! §2.1 (small, and the heart of Hippo's "who saw what"; checked against
//! the RFC 6962 reference vectors and by property tests): leaf and node
//! hashing, tree roots, inclusion and consistency proofs, an incremental
//! root for appending, and ed25519-signed tree heads.

pub mod head;
pub mod merkle;

pub use head::{AuditSigningKey, KeyError, SignedTreeHead, TreeHead};
pub use merkle::{CompactRange, Hash};
