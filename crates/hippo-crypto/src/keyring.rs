//! Master keys and the keyring file.
//!
//! The file holds one key per line, the current one (which wraps new and
//! re-wrapped data keys) first, older ones after it so that data keys
//! still wrapped under them open during a rotation:
//!
//! ```text
//! # hippo master keyring v1
//! 3f2a…(key id, 16 hex) 9c41…(key, 64 hex)
//! ```

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{CryptoError, random};

pub const KEYRING_HEADER: &str = "# hippo master keyring v1";

/// A master key's public name: the first 8 bytes of SHA-256 over a label
/// and the key, so that it names the key without revealing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MasterKeyId([u8; 8]);

impl MasterKeyId {
    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let bytes = hex::decode(text)
            .ok()
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .ok_or_else(|| CryptoError::Keyring(format!("not a master key id: {text:?}")))?;
        Ok(Self(bytes))
    }
}

impl std::fmt::Display for MasterKeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

pub struct MasterKey {
    id: MasterKeyId,
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    pub fn generate() -> Result<Self, CryptoError> {
        let mut key = Zeroizing::new([0u8; 32]);
        random(key.as_mut())?;
        Ok(Self::from_bytes(key))
    }

    fn from_bytes(key: Zeroizing<[u8; 32]>) -> Self {
        let digest = Sha256::new()
            .chain_update(b"hippo master key id v1")
            .chain_update(key.as_ref())
            .finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        Self {
            id: MasterKeyId(id),
            key,
        }
    }

    /// A key from 64 hex digits (e.g. the `HIPPO_MASTER_KEY` variable).
    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(
            hex::decode(text.trim())
                .map_err(|_| CryptoError::Keyring("a master key is 64 hex digits".into()))?,
        );
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Keyring("a master key is 64 hex digits".into()))?;
        Ok(Self::from_bytes(Zeroizing::new(key)))
    }

    pub fn id(&self) -> MasterKeyId {
        self.id
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

/// The master keys a process knows: the current one first.
#[derive(Debug)]
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(current: MasterKey) -> Self {
        Self {
            keys: vec![current],
        }
    }

    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self::new(MasterKey::generate()?))
    }

    /// Parse a keyring file's text.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        if lines.next() != Some(KEYRING_HEADER) {
            return Err(CryptoError::Keyring(format!(
                "the file does not start with {KEYRING_HEADER:?}"
            )));
        }
        let mut keys = Vec::new();
        for (n, line) in lines.filter(|l| !l.starts_with('#')).enumerate() {
            let (id, key) = line.split_once(' ').ok_or_else(|| {
                CryptoError::Keyring(format!("key line {} is not `<id> <key>`", n + 1))
            })?;
            let key = MasterKey::from_hex(key)?;
            if key.id() != MasterKeyId::from_hex(id)? {
                return Err(CryptoError::Keyring(format!(
                    "key line {}: the id does not match the key (damaged file?)",
                    n + 1
                )));
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(CryptoError::Keyring("the keyring holds no key".into()));
        }
        Ok(Self { keys })
    }

    /// The file's text; it holds secrets (write it 0600).
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(format!("{KEYRING_HEADER}\n"));
        for key in &self.keys {
            text.push_str(&key.id.to_hex());
            text.push(' ');
            text.push_str(&hex::encode(key.bytes()));
            text.push('\n');
        }
        text
    }

    pub fn current(&self) -> &MasterKey {
        &self.keys[0]
    }

    pub fn ids(&self) -> Vec<MasterKeyId> {
        self.keys.iter().map(MasterKey::id).collect()
    }

    pub fn get(&self, id: MasterKeyId) -> Result<&MasterKey, CryptoError> {
        self.keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| CryptoError::UnknownMasterKey(id.to_hex()))
    }

    /// A new current key in front of the old ones (which stay, to open data
    /// keys not yet re-wrapped).
    pub fn rotated(self) -> Result<Self, CryptoError> {
        let mut keys = vec![MasterKey::generate()?];
        keys.extend(self.keys);
        Ok(Self { keys })
    }

    /// Only the current key: once every data key is wrapped under it.
    pub fn retire_old(mut self) -> Self {
        self.keys.truncate(1);
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_keyring_survives_its_file_and_a_damaged_line_is_refused() {
        let ring = Keyring::generate().unwrap().rotated().unwrap();
        let text = ring.to_text();
        let back = Keyring::parse(&text).unwrap();
        assert_eq!(back.ids(), ring.ids());
        assert_eq!(back.current().bytes(), ring.current().bytes());

        // One changed digit of a key no longer matches its id.
        let mut damaged = text.to_string();
        let at = damaged.find('\n').unwrap() + 20;
        let digit = if &damaged[at..=at] == "0" { "1" } else { "0" };
        damaged.replace_range(at..=at, digit);
        assert!(Keyring::parse(&damaged).is_err());
        assert!(Keyring::parse("no header\n").is_err());
        assert!(Keyring::parse(KEYRING_HEADER).is_err());
    }

    #[test]
    fn the_key_id_does_not_reveal_the_key() {
        let key = MasterKey::generate().unwrap();
        assert!(!hex::encode(key.bytes()).contains(&key.id().to_hex()));
        assert!(!format!("{key:?}").contains(&hex::encode(key.bytes())));
    }
}
