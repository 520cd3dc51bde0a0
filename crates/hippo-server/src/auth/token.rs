//! Session tokens: 256 random bits, hex-encoded for transport; only their
//! SHA-256 is stored.

use rand::RngCore;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "hippo_session";
/// With the `__Host-` prefix the browser refuses the cookie unless it is
/// Secure, host-only and path `/`.
pub const SESSION_COOKIE_SECURE: &str = "__Host-hippo_session";
pub const LOGIN_CSRF_COOKIE: &str = "hippo_login_csrf";

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

pub fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", new_token())
}

pub fn is_well_formed_api_key(key: &str) -> bool {
    key.strip_prefix(API_KEY_PREFIX).is_some_and(is_well_formed)
}
