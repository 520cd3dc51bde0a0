//! Authentication: passwords, session tokens, CSRF and login throttling.

pub mod csrf;
pub mod lockout;
pub mod login;
pub mod password;
pub mod rate_limit;
pub mod token;
