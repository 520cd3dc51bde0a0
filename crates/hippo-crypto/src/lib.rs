//! Hippo's key hierarchy (DESIGN invariant 7).
//!
//! * A **master key** comes from configuration (a keyring file made by
//!   `hippo keys init`, or the environment) and never from the database.
//! * Each tenant has a random 256-bit **data key**, stored only wrapped
//!   (sealed) under a master key.
//! * Blobs (finding PDFs; later message bodies and attachments) are sealed
//!   with their tenant's data key. The associated data binds every
//!   ciphertext to its tenant, kind and object ID, so a ciphertext copied to
//!   another row, tenant or kind fails to open.
//!
//! XChaCha20-Poly1305 with random 192-bit nonces: random nonces are safe at
//! any volume with this nonce size, so no counter state has to survive
//! crashes or be shared between instances.

mod keyring;
mod sealed;

pub use keyring::{KEYRING_HEADER, Keyring, MasterKey, MasterKeyId};
pub use sealed::{DataKey, ObjectBinding, WrappedDataKey};

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CryptoError {
    /// Wrong key, altered ciphertext, or a ciphertext bound to another
    /// object: deliberately indistinguishable.
    #[error("the ciphertext does not open with this key for this object")]
    Unopenable,
    /// A data key wrapped under a master key that is not in the keyring.
    #[error("master key {0} is not in the keyring")]
    UnknownMasterKey(String),
    #[error("keyring: {0}")]
    Keyring(String),
    #[error("random number generator failed")]
    Random,
}

/// Fill `buf` from the operating system's CSPRNG.
fn random(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|_| CryptoError::Random)
}
