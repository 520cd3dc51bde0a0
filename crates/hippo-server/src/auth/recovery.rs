//! Recovery codes: ten single-use codes of 128 random bits each, shown
//! once and stored only as SHA-256 (their entropy makes a slow hash
//! unnecessary). Typed with or without the dashes, in any case.

use rand::RngCore;
use sha2::{Digest, Sha256};

pub const CODES_PER_SET: usize = 10;

/// A new set of codes as shown to the person: `xxxx-xxxx-...` (32 hex).
pub fn new_codes() -> Vec<String> {
    (0..CODES_PER_SET)
        .map(|_| {
            let mut bytes = [0u8; 16];
            rand::rng().fill_bytes(&mut bytes);
            let hex = hex::encode(bytes);
            hex.as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

fn normalized(code: &str) -> String {
    code.chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether typed text has the shape of a recovery code (a TOTP code has
/// six digits, a recovery code 32 hex characters).
pub fn looks_like_recovery_code(code: &str) -> bool {
    let code = normalized(code);
    code.len() == 32 && code.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn hash_code(code: &str) -> String {
    hex::encode(Sha256::digest(normalized(code).as_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_distinct_and_match_however_typed() {
        let codes = new_codes();
        assert_eq!(codes.len(), CODES_PER_SET);
        let unique: std::collections::BTreeSet<_> = codes.iter().map(|c| hash_code(c)).collect();
        assert_eq!(unique.len(), CODES_PER_SET);
        let code = &codes[0];
        assert!(looks_like_recovery_code(code));
        assert_eq!(
            hash_code(code),
            hash_code(&code.replace('-', "").to_uppercase())
        );
        assert!(!looks_like_recovery_code("123456"));
    }
}
