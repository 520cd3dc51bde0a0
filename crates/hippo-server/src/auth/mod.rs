//! Authentication: passwords, second factors, session tokens, CSRF and
//! login throttling.

pub mod csrf;
pub mod lockout;
pub mod passkey;
pub mod login;
pub mod password;
pub mod rate_limit;
pub mod recovery;
pub mod second_factor;
pub mod session;
pub mod token;
pub mod totp;
pub mod wrong_codes;
