//! CSRF tokens for browser forms. A form token is an HMAC of a fixed label
//! under the session token, so it needs no storage, differs per session, and
//! cannot be computed by a page that does not know the session cookie.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

pub fn form_token(session_token: &str) -> String {
    match HmacSha256::new_from_slice(session_token.as_bytes()) {
        Ok(mut mac) => {
            mac.update(b"hippo form csrf v1");
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC accepts keys of any length; unreachable in practice, and an
        // empty token never verifies.
        Err(_) => String::new(),
    }
}

pub fn verify(session_token: &str, submitted: &str) -> bool {
    let expected = form_token(session_token);
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

/// Double-submit check for the login form, which has no session yet.
pub fn verify_double_submit(cookie: Option<&str>, submitted: &str) -> bool {
    match cookie {
        Some(c) if c.len() >= 32 => bool::from(c.as_bytes().ct_eq(submitted.as_bytes())),
        _ => false,
    }
}
