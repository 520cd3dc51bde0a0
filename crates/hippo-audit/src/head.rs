//! Signed tree heads: the log operator's signed statement "the log had
//! `size` records with root `root` at `issued_at`". Only heads are signed,
//! never single records (signing costs ~20 µs).

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::RngCore;

use crate::merkle::Hash;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    pub size: u64,
    pub root: Hash,
    /// Unix milliseconds.
    pub issued_at: i64,
}

impl TreeHead {
    /// The signed message: a domain label, then size, time and root.
    pub fn message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(64);
        m.extend_from_slice(b"hippo tree head v1\n");
        m.extend_from_slice(&self.size.to_be_bytes());
        m.extend_from_slice(&self.issued_at.to_be_bytes());
        m.extend_from_slice(&self.root);
        m
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedTreeHead {
    pub head: TreeHead,
    pub signature: [u8; 64],
}

impl SignedTreeHead {
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        key.verify(
            &self.head.message(),
            &Signature::from_bytes(&self.signature),
        )
        .is_ok()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the audit signing key file must hold 64 hex characters")]
    Malformed,
    #[error("the public key must be 64 hex characters")]
    MalformedPublic,
}

/// The audit log's signing key. Its `Debug` never shows the secret.
pub struct AuditSigningKey(SigningKey);

impl std::fmt::Debug for AuditSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditSigningKey(public {})", self.public_hex())
    }
}

impl AuditSigningKey {
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        Self(SigningKey::from_bytes(&seed))
    }

    /// The file format: the 32-byte seed as hex.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Malformed)?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed)?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    pub fn public_hex(&self) -> String {
        hex::encode(self.verifying_key().to_bytes())
    }

    pub fn sign(&self, head: TreeHead) -> SignedTreeHead {
        SignedTreeHead {
            head,
            signature: self.0.sign(&head.message()).to_bytes(),
        }
    }
}

pub fn verifying_key_from_hex(text: &str) -> Result<VerifyingKey, KeyError> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .map_err(|_| KeyError::MalformedPublic)?
        .try_into()
        .map_err(|_| KeyError::MalformedPublic)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::MalformedPublic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_verify_and_forgeries_do_not() {
        let key = AuditSigningKey::generate();
        let head = TreeHead {
            size: 3,
            root: [7; 32],
            issued_at: 1,
        };
        let signed = key.sign(head);
        assert!(signed.verify(&key.verifying_key()));
        let mut forged = signed;
        forged.head.size = 4;
        assert!(!forged.verify(&key.verifying_key()));
        let other = AuditSigningKey::generate();
        assert!(!signed.verify(&other.verifying_key()));
        let reloaded = AuditSigningKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(reloaded.public_hex(), key.public_hex());
        assert!(!format!("{key:?}").contains(&key.to_hex()));
    }
}
