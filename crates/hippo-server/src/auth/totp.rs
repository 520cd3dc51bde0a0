//! TOTP (RFC 6238) as authenticator apps expect it: SHA-1, 6 digits,
//! 30-second steps, one step of clock skew either way. Checking a code
//! yields the time step it matched; the caller must claim that step in
//! the store (a step is accepted at most once, RFC 6238 §5.2).

use rand::RngCore;
use secrecy::zeroize::Zeroizing;
use totp_rs::{Algorithm, Builder, Totp};

use crate::error::Failure;

/// 160-bit seeds, as RFC 4226 §4 recommends.
pub const SEED_BYTES: usize = 20;
const ISSUER: &str = "Hippo";

/// A fresh random seed.
pub fn new_seed() -> Zeroizing<Vec<u8>> {
    let mut seed = Zeroizing::new(vec![0u8; SEED_BYTES]);
    rand::rng().fill_bytes(&mut seed);
    seed
}

fn totp(seed: &[u8], account: &str) -> Result<Totp, Failure> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .with_secret(seed.to_vec())
        .with_issuer(Some(ISSUER))
        // A colon would break the otpauth label; e-mail addresses have none.
        .with_account_name(account.replace(':', ""))
        .build()
        .map_err(Failure::internal)
}

/// The time step a code matches now (within one step of skew), if any.
/// Spaces are ignored (apps show `123 456`).
pub fn matching_step(seed: &[u8], code: &str, now_secs: u64) -> Result<Option<i64>, Failure> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    Ok(totp(seed, "")?
        .check(&code, now_secs)
        .and_then(|step| i64::try_from(step).ok()))
}

/// The code of a base32 seed at a time (what an authenticator app shows),
/// for clients the project drives itself: benchmarks, the demo's users.
pub fn code_at(seed_base32: &str, unix_secs: u64) -> Option<String> {
    let seed = totp_rs::Secret::try_from_base32(seed_base32).ok()?;
    Some(
        totp(seed.as_bytes(), "")
            .ok()?
            .generate(unix_secs)
            .to_string(),
    )
}

/// The seed in base32 (RFC 4648, no padding), for typing into an app.
pub fn seed_base32(seed: &[u8]) -> String {
    totp_rs::Secret::from(seed.to_vec()).to_base32()
}

/// The `otpauth://` URI that authenticator apps read from the QR code.
pub fn provisioning_uri(seed: &[u8], account: &str) -> Result<String, Failure> {
    totp(seed, account)?.to_url().map_err(Failure::internal)
}

/// The QR code of `text` as an SVG document (`role="img"` with a title,
/// so that screen readers announce it; the secret is also shown as text).
pub fn qr_svg(text: &str, title: &str) -> Result<String, Failure> {
    let (width, modules) = crate::retrieval_sheet::qr_modules(text).map_err(Failure::internal)?;
    let quiet = 4;
    let size = width + 2 * quiet;
    let mut path = String::new();
    for (i, dark) in modules.iter().enumerate() {
        if *dark {
            let (x, y) = (i % width + quiet, i / width + quiet);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    let title = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"240\" \
         height=\"240\" role=\"img\" aria-labelledby=\"totp-qr-title\"><title id=\"totp-qr-title\">{title}</title>\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 seed "12345678901234567890" (8-digit
    /// values there; the 6-digit code is their last six digits).
    #[test]
    fn totp_matches_the_rfc_6238_vectors() {
        let seed = b"12345678901234567890";
        for (time, code) in [
            (59u64, "287082"),
            (1_111_111_109, "081804"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(
                matching_step(seed, code, time).unwrap(),
                Some((time / 30) as i64)
            );
        }
    }

    #[test]
    fn totp_accepts_one_step_of_skew_and_no_more() {
        let seed = b"12345678901234567890";
        // The code of t=59 (step 1) at steps 0..=2 yes, at step 3 no.
        assert_eq!(matching_step(seed, "287082", 89).unwrap(), Some(1));
        assert_eq!(matching_step(seed, "287082", 95).unwrap(), None);
        assert_eq!(matching_step(seed, "287 082", 59).unwrap(), Some(1));
        assert_eq!(matching_step(seed, "28708", 59).unwrap(), None);
        assert_eq!(matching_step(seed, "+87082", 59).unwrap(), None);
    }

    #[test]
    fn totp_uri_and_qr_carry_the_seed() {
        let seed = new_seed();
        let uri = provisioning_uri(&seed, "keller@praxis.example").unwrap();
        assert!(uri.starts_with("otpauth://totp/Hippo:keller"), "{uri}");
        assert!(uri.contains(&seed_base32(&seed)));
        let svg = qr_svg(&uri, "QR <code>").unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("QR &lt;code&gt;"));
    }
}
