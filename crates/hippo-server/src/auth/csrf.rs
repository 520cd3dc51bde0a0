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

/// The key of the login forms' tokens: random per process, never stored
/// or sent, so nobody outside the server can compute a token.
static LOGIN_FORM_KEY: std::sync::LazyLock<[u8; 32]> = std::sync::LazyLock::new(|| {
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
    key
});

fn login_form_mac(nonce: &str) -> String {
    match HmacSha256::new_from_slice(LOGIN_FORM_KEY.as_slice()) {
        Ok(mut mac) => {
            mac.update(b"hippo login form csrf v1\0");
            mac.update(nonce.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// A token for a form without a session (login, retrieval): a random nonce
/// for the cookie, and the field value HMAC(server key, nonce). An
/// attacker who can set cookies (a sibling subdomain, a network attacker
/// on plain HTTP) can choose the nonce but cannot compute its field.
pub struct LoginFormToken {
    pub cookie_nonce: String,
    pub field: String,
}

pub fn login_form_token() -> LoginFormToken {
    let cookie_nonce = crate::auth::token::new_token();
    let field = login_form_mac(&cookie_nonce);
    LoginFormToken {
        cookie_nonce,
        field,
    }
}

/// Whether `submitted` is the field for the cookie's nonce.
pub fn verify_login_form(cookie_nonce: Option<&str>, submitted: &str) -> bool {
    match cookie_nonce {
        Some(nonce) if crate::auth::token::is_well_formed(nonce) => {
            let expected = login_form_mac(nonce);
            !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
        }
        _ => false,
    }
}

#[cfg(test)]
mod login_form_tests {
    use super::*;

    #[test]
    fn the_field_must_be_the_mac_of_the_cookie_nonce() {
        let token = login_form_token();
        assert!(verify_login_form(Some(&token.cookie_nonce), &token.field));
        // The old double submit (cookie value equals field) no longer passes.
        let chosen = "a".repeat(64);
        assert!(!verify_login_form(Some(&chosen), &chosen));
        assert!(!verify_login_form(
            Some(&token.cookie_nonce),
            &token.cookie_nonce
        ));
        assert!(!verify_login_form(None, &token.field));
        let other = login_form_token();
        assert!(!verify_login_form(Some(&other.cookie_nonce), &token.field));
    }
}
