//! Data keys, wrapped under master keys, and blobs sealed under data keys.

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::keyring::{Keyring, MasterKey, MasterKeyId};
use crate::{CryptoError, random};

/// Marks a sealed blob and its format version.
const SEALED_MAGIC: &[u8; 4] = b"HPB1";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// What a ciphertext belongs to. Its encoding is the associated data, so
/// a ciphertext opens only for exactly this tenant, kind and object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectBinding<'a> {
    pub tenant: &'a str,
    /// e.g. `finding_pdf`, `message_body`, `attachment`.
    pub kind: &'a str,
    pub object_id: &'a str,
}

impl ObjectBinding<'_> {
    fn associated_data(&self, purpose: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(96);
        // Length-prefixed, so that no two bindings encode alike.
        for part in [purpose, self.tenant, self.kind, self.object_id] {
            aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
            aad.extend_from_slice(part.as_bytes());
        }
        aad
    }
}

fn seal_with(key: &[u8; 32], aad: &[u8], mut buffer: Vec<u8>) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    random(&mut nonce)?;
    let cipher = XChaCha20Poly1305::new(&Key::from(*key));
    cipher
        .encrypt_in_place(&XNonce::from(nonce), aad, &mut buffer)
        .map_err(|_| CryptoError::Unopenable)?;
    let mut sealed = Vec::with_capacity(SEALED_MAGIC.len() + NONCE_LEN + buffer.len());
    sealed.extend_from_slice(SEALED_MAGIC);
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&buffer);
    Ok(sealed)
}

fn open_with(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let header = SEALED_MAGIC.len() + NONCE_LEN;
    if sealed.len() < header + TAG_LEN || &sealed[..SEALED_MAGIC.len()] != SEALED_MAGIC {
        return Err(CryptoError::Unopenable);
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&sealed[SEALED_MAGIC.len()..header]);
    let mut buffer = sealed[header..].to_vec();
    XChaCha20Poly1305::new(&Key::from(*key))
        .decrypt_in_place(&XNonce::from(nonce), aad, &mut buffer)
        .map_err(|_| CryptoError::Unopenable)?;
    Ok(buffer)
}

/// A tenant's 256-bit data key, in memory only.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// A data key as stored: sealed under the named master key, bound to its
/// tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedDataKey {
    pub master_key: MasterKeyId,
    pub sealed: Vec<u8>,
}

fn wrapping_binding(tenant: &str) -> ObjectBinding<'_> {
    ObjectBinding {
        tenant,
        kind: "data_key",
        object_id: tenant,
    }
}

impl DataKey {
    pub fn generate() -> Result<Self, CryptoError> {
        let mut key = Zeroizing::new([0u8; 32]);
        random(key.as_mut())?;
        Ok(Self(key))
    }

    /// Seal this key under `master` for `tenant`.
    pub fn wrap(&self, master: &MasterKey, tenant: &str) -> Result<WrappedDataKey, CryptoError> {
        let aad = wrapping_binding(tenant).associated_data("hippo data key v1");
        let mut aad_with_key = aad;
        aad_with_key.extend_from_slice(&master.id().to_hex().into_bytes());
        Ok(WrappedDataKey {
            master_key: master.id(),
            sealed: seal_with(master.bytes(), &aad_with_key, self.0.to_vec())?,
        })
    }

    /// Open `tenant`'s wrapped key with whichever key of `keyring` wrapped it.
    pub fn unwrap(
        keyring: &Keyring,
        tenant: &str,
        wrapped: &WrappedDataKey,
    ) -> Result<Self, CryptoError> {
        let master = keyring.get(wrapped.master_key)?;
        let mut aad = wrapping_binding(tenant).associated_data("hippo data key v1");
        aad.extend_from_slice(&master.id().to_hex().into_bytes());
        let opened = Zeroizing::new(open_with(master.bytes(), &aad, &wrapped.sealed)?);
        let key: [u8; 32] = opened
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Unopenable)?;
        Ok(Self(Zeroizing::new(key)))
    }

    /// Seal `plaintext` (taken, to encrypt in place) bound to `object`.
    pub fn seal(
        &self,
        object: &ObjectBinding<'_>,
        plaintext: Vec<u8>,
    ) -> Result<Vec<u8>, CryptoError> {
        seal_with(&self.0, &object.associated_data("hippo blob v1"), plaintext)
    }

    pub fn open(&self, object: &ObjectBinding<'_>, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        open_with(&self.0, &object.associated_data("hippo blob v1"), sealed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pdf(tenant: &str, id: &str) -> ObjectBinding<'static> {
        ObjectBinding {
            tenant: Box::leak(tenant.to_owned().into_boxed_str()),
            kind: "finding_pdf",
            object_id: Box::leak(id.to_owned().into_boxed_str()),
        }
    }

    #[test]
    fn a_sealed_blob_opens_only_for_its_own_tenant_kind_and_object() {
        let key = DataKey::generate().unwrap();
        let sealed = key
            .seal(&pdf("t1", "f1"), b"%PDF-1.7 secret".to_vec())
            .unwrap();
        assert_eq!(
            key.open(&pdf("t1", "f1"), &sealed).unwrap(),
            b"%PDF-1.7 secret"
        );
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        for other in [pdf("t2", "f1"), pdf("t1", "f2")] {
            assert_eq!(key.open(&other, &sealed), Err(CryptoError::Unopenable));
        }
        let attachment = ObjectBinding {
            kind: "attachment",
            ..pdf("t1", "f1")
        };
        assert_eq!(key.open(&attachment, &sealed), Err(CryptoError::Unopenable));
        // Another tenant's key does not open it either.
        let other_key = DataKey::generate().unwrap();
        assert_eq!(
            other_key.open(&pdf("t1", "f1"), &sealed),
            Err(CryptoError::Unopenable)
        );
        // Two seals of the same bytes differ (random nonces).
        let again = key
            .seal(&pdf("t1", "f1"), b"%PDF-1.7 secret".to_vec())
            .unwrap();
        assert_ne!(sealed, again);
    }

    #[test]
    fn a_data_key_unwraps_under_its_master_key_only_for_its_tenant() {
        let ring = Keyring::generate().unwrap();
        let key = DataKey::generate().unwrap();
        let wrapped = key.wrap(ring.current(), "tenant-a").unwrap();
        let back = DataKey::unwrap(&ring, "tenant-a", &wrapped).unwrap();
        let sealed = key.seal(&pdf("tenant-a", "x"), b"data".to_vec()).unwrap();
        assert_eq!(back.open(&pdf("tenant-a", "x"), &sealed).unwrap(), b"data");
        assert_eq!(
            DataKey::unwrap(&ring, "tenant-b", &wrapped).err(),
            Some(CryptoError::Unopenable)
        );
        // After a rotation the old wrapping still opens, and a re-wrap
        // under the new current key opens once the old key is retired.
        let ring = ring.rotated().unwrap();
        let old = DataKey::unwrap(&ring, "tenant-a", &wrapped).unwrap();
        let rewrapped = old.wrap(ring.current(), "tenant-a").unwrap();
        let ring = ring.retire_old();
        assert!(matches!(
            DataKey::unwrap(&ring, "tenant-a", &wrapped),
            Err(CryptoError::UnknownMasterKey(_))
        ));
        let current = DataKey::unwrap(&ring, "tenant-a", &rewrapped).unwrap();
        assert_eq!(
            current.open(&pdf("tenant-a", "x"), &sealed).unwrap(),
            b"data"
        );
    }

    proptest! {
        #[test]
        fn any_changed_byte_of_a_sealed_blob_is_refused(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            at in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let key = DataKey::generate().unwrap();
            let mut sealed = key.seal(&pdf("t", "o"), data.clone()).unwrap();
            prop_assert_eq!(key.open(&pdf("t", "o"), &sealed).unwrap(), data);
            let i = at.index(sealed.len());
            sealed[i] ^= flip;
            prop_assert_eq!(key.open(&pdf("t", "o"), &sealed), Err(CryptoError::Unopenable));
        }
    }
}
