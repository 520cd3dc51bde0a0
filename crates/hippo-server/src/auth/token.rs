//! Session tokens: 256 random bits, hex-encoded for transport; only their
//! SHA-256 is stored.

use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// A secret the client sees once, in the body of the answer that made it
/// (a new session token, a new API key): it serialises as its value, so
/// the client gets it, and its `Debug` hides it, so no log line does.
pub struct ShownOnce(SecretString);

impl ShownOnce {
    pub fn new(secret: SecretString) -> Self {
        Self(secret)
    }
}

impl serde::Serialize for ShownOnce {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.expose_secret())
    }
}

impl std::fmt::Debug for ShownOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShownOnce(<redacted>)")
    }
}

pub const SESSION_COOKIE: &str = "hippo_session";
/// With the `__Host-` prefix the browser refuses the cookie unless it is
/// Secure, host-only and path `/`.
pub const SESSION_COOKIE_SECURE: &str = "__Host-hippo_session";
pub const LOGIN_CSRF_COOKIE: &str = "hippo_login_csrf";
/// A login whose password was right, waiting for its second factor.
pub const PENDING_LOGIN_COOKIE: &str = "hippo_pending_login";

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Session tokens are exactly 64 lowercase hex characters; anything else is
/// rejected before it reaches the database.
pub fn is_well_formed(token: &str) -> bool {
    token.len() == 64
        && token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Lab-system API keys: a recognisable prefix (so secret scanners and people
/// can tell what leaked) and 256 random bits.
pub const API_KEY_PREFIX: &str = "hippo_lab_";

pub fn new_api_key() -> SecretString {
    SecretString::from(format!("{API_KEY_PREFIX}{}", new_token()))
}

pub fn is_well_formed_api_key(key: &str) -> bool {
    key.strip_prefix(API_KEY_PREFIX).is_some_and(is_well_formed)
}

#[cfg(test)]
mod shown_once_tests {
    use super::*;

    #[test]
    fn a_secret_shown_once_reaches_the_body_but_not_debug() {
        let key = new_api_key();
        let value = key.expose_secret().to_owned();
        let shown = ShownOnce::new(key);
        assert_eq!(
            serde_json::to_string(&shown).unwrap(),
            format!("\"{value}\"")
        );
        assert!(!format!("{shown:?}").contains(&value[API_KEY_PREFIX.len()..]));
    }
}
