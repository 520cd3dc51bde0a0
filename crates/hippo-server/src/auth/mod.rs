//! Authentication: passwords, second factors, session tokens, CSRF and
//! login throttling.

pub mod account_mail;
pub mod account_security;
pub mod csrf;
pub mod device;
pub mod enrolment;
pub mod lockout;
pub mod login;
pub mod passkey;
pub mod password;
pub mod password_reset;
pub mod rate_limit;
pub mod recovery;
pub mod relying_party;
pub mod return_path;
pub mod second_factor;
pub mod session;
pub mod token;
pub mod totp;
pub mod wrong_codes;
