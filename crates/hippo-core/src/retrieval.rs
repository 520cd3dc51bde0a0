//! Retrieval codes: how a person without an account fetches one finding.
//! The code is printed on a sheet and typed in by people, so its format is
//! made for that: 16 symbols in four groups of four, from an alphabet
//! without look-alikes (no 0/O, no 1/I/L), the last symbol a check symbol
//! so that a typo is caught before it counts as an attempt. Pure rules
//! only; the randomness comes from the operating system's generator.

use rand::TryRngCore;
use rand::rngs::OsRng;
use subtle::ConstantTimeEq;
use time::Date;

use crate::ids::{FindingId, PatientId, RetrievalCodeId, TenantId};
use crate::patient::format_date;

/// 31 symbols: the digits 2-9 and the letters without I, L and O. 31 is
/// prime, which is what makes the weighted check below catch every single
/// substitution and every swap of neighbours.
pub const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const BASE: u32 = ALPHABET.len() as u32;
/// Random symbols per code: 15 × log2(31) ≈ 74.3 bits of entropy.
pub const RANDOM_SYMBOLS: usize = 15;
/// Random symbols plus the check symbol.
pub const CODE_LEN: usize = RANDOM_SYMBOLS + 1;
const GROUP: usize = 4;

/// Why typed text is not a retrieval code. Neither counts as an attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error(
        "a code has {CODE_LEN} characters (letters and digits, groups may be separated by spaces or dashes); this one has {0}"
    )]
    Length(usize),
    #[error("codes contain only the digits 2-9 and the letters A-Z without I, L and O")]
    Alphabet,
    #[error("the code contains a typo; please check it against the sheet")]
    Typo,
}

/// The operating system's random generator failed; no code was made.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random generator is unavailable")]
pub struct RandomnessUnavailable;

/// A well-formed retrieval code (check symbol verified), in canonical form:
/// 16 upper-case symbols, no separators. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RetrievalCode(String);

impl std::fmt::Debug for RetrievalCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RetrievalCode(<redacted>)")
    }
}

fn symbol_value(symbol: u8) -> Option<u32> {
    ALPHABET.iter().position(|&s| s == symbol).map(|p| p as u32)
}

/// Σ weight·value mod 31 with weights 1, 2, …: every weight is invertible
/// mod 31 (one changed symbol changes the sum) and neighbours' weights
/// differ by one (a swap of two different symbols changes it too).
fn weighted_sum(values: impl Iterator<Item = u32>) -> u32 {
    values
        .enumerate()
        .map(|(i, v)| (i as u32 + 1) * v)
        .sum::<u32>()
        % BASE
}

/// The check symbol's value for `values` (the random symbols): the one
/// that makes the weighted sum of all 16 zero mod 31.
fn check_value(values: &[u32]) -> u32 {
    let sum = weighted_sum(values.iter().copied());
    // weight of the check symbol: 16; 16 · 2 ≡ 1 (mod 31).
    let inverse_of_weight = 2;
    ((BASE - sum) % BASE) * inverse_of_weight % BASE
}

impl RetrievalCode {
    /// A fresh code from the operating system's random generator.
    pub fn generate() -> Result<Self, RandomnessUnavailable> {
        let mut fill =
            |buf: &mut [u8]| OsRng.try_fill_bytes(buf).map_err(|_| RandomnessUnavailable);
        Self::from_random(&mut fill)
    }

    /// A code from a source of random bytes (rejection sampling, so every
    /// symbol is uniform over the alphabet). Pure given its source.
    pub fn from_random<E>(fill: &mut impl FnMut(&mut [u8]) -> Result<(), E>) -> Result<Self, E> {
        // Bytes below 248 = 8 · 31 map uniformly onto 31 symbols.
        let limit = (256 / BASE * BASE) as u8;
        let mut values = Vec::with_capacity(CODE_LEN);
        let mut buf = [0u8; 32];
        while values.len() < RANDOM_SYMBOLS {
            fill(&mut buf)?;
            for &b in buf.iter().filter(|&&b| b < limit) {
                if values.len() < RANDOM_SYMBOLS {
                    values.push(u32::from(b) % BASE);
                }
            }
        }
        values.push(check_value(&values));
        Ok(Self(
            values
                .iter()
                .map(|&v| char::from(ALPHABET[v as usize]))
                .collect(),
        ))
    }

    /// Normalise typed text (any case; spaces and dashes ignored) and
    /// verify the check symbol.
    pub fn parse(typed: &str) -> Result<Self, CodeError> {
        let symbols: Vec<u8> = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .map(|c| if c.is_ascii() { c as u8 } else { 0 })
            .collect();
        if symbols.len() != CODE_LEN {
            return Err(CodeError::Length(symbols.len()));
        }
        let values = symbols
            .iter()
            .map(|&s| symbol_value(s))
            .collect::<Option<Vec<u32>>>()
            .ok_or(CodeError::Alphabet)?;
        if weighted_sum(values.iter().copied()) != 0 {
            return Err(CodeError::Typo);
        }
        Ok(Self(symbols.iter().map(|&s| char::from(s)).collect()))
    }

    /// 16 symbols, no separators: what is hashed and stored.
    pub fn canonical(&self) -> &str {
        &self.0
    }

    /// `XXXX-XXXX-XXXX-XXXX`, as printed.
    pub fn grouped(&self) -> String {
        self.0
            .as_bytes()
            .chunks(GROUP)
            .map(|g| String::from_utf8_lossy(g).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// Whether the typed date of birth is the record's, compared in constant
/// time (both as `YYYY-MM-DD`), so the answer's timing does not tell how
/// much of it was right.
pub fn birth_date_matches(on_record: Date, typed: Date) -> bool {
    let (a, b) = (format_date(on_record), format_date(typed));
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Who holds a retrieval code after proving the date of birth: allowed,
/// by the policy, to read exactly the one finding of that code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeHolder {
    pub code_id: RetrievalCodeId,
    pub tenant_id: TenantId,
    pub patient_id: PatientId,
    pub finding_id: FindingId,
}

/// Why a retrieval was refused. A wrong code and a wrong date of birth are
/// one variant on purpose: the answer must not tell which was wrong.
/// The others are said plainly; each is reached only with a code that
/// exists (74 bits: not by guessing), and none shows anything of the
/// finding. `Locked` is answered even for the right date of birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RetrievalRefusal {
    #[error("code or date of birth not recognised")]
    NotRecognised,
    #[error("the code has expired")]
    Expired,
    #[error("the code was revoked")]
    Revoked,
    /// The finding was retracted (or is no longer released).
    #[error("the finding of this code was withdrawn")]
    Withdrawn,
    /// Too many wrong dates of birth: the code is locked for good.
    #[error("the code is locked after too many wrong attempts")]
    Locked,
}

impl RetrievalRefusal {
    /// What the audit record's detail says.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotRecognised => "not_recognised",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Withdrawn => "withdrawn",
            Self::Locked => "locked",
        }
    }
}

/// The defaults of issue 11: a code is valid for 14 days and allows 5
/// wrong attempts.
pub const DEFAULT_VALIDITY_DAYS: u32 = 14;
pub const DEFAULT_ATTEMPTS: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code_from_seed(seed: u8) -> RetrievalCode {
        let mut next = seed;
        let mut fill = |buf: &mut [u8]| {
            for b in buf.iter_mut() {
                next = next.wrapping_mul(31).wrapping_add(17);
                *b = next;
            }
            Ok::<_, ()>(())
        };
        RetrievalCode::from_random(&mut fill).unwrap()
    }

    #[test]
    fn generated_codes_are_grouped_and_parse_back() {
        for _ in 0..200 {
            let code = RetrievalCode::generate().unwrap();
            let grouped = code.grouped();
            assert_eq!(grouped.len(), 19);
            assert_eq!(grouped.matches('-').count(), 3);
            assert_eq!(RetrievalCode::parse(&grouped).unwrap(), code);
            assert!(!grouped.contains(['0', '1', 'O', 'I', 'L']), "{grouped}");
        }
    }

    #[test]
    fn generated_codes_differ() {
        let codes: std::collections::HashSet<String> = (0..1000)
            .map(|_| RetrievalCode::generate().unwrap().canonical().to_owned())
            .collect();
        assert_eq!(codes.len(), 1000);
    }

    #[test]
    fn typed_input_is_normalised() {
        let code = code_from_seed(7);
        let grouped = code.grouped();
        for typed in [
            grouped.to_lowercase(),
            grouped.replace('-', " "),
            format!("  {}  ", code.canonical()),
            grouped.replace('-', " - "),
        ] {
            assert_eq!(RetrievalCode::parse(&typed).unwrap(), code, "{typed}");
        }
    }

    #[test]
    fn wrong_lengths_and_foreign_symbols_are_refused() {
        let code = code_from_seed(3).canonical().to_owned();
        assert_eq!(
            RetrievalCode::parse(&code[..15]),
            Err(CodeError::Length(15))
        );
        assert_eq!(RetrievalCode::parse(""), Err(CodeError::Length(0)));
        let with_o = format!("O{}", &code[1..]);
        assert_eq!(RetrievalCode::parse(&with_o), Err(CodeError::Alphabet));
        let with_umlaut = format!("Ä{}", &code[1..]);
        assert_eq!(RetrievalCode::parse(&with_umlaut), Err(CodeError::Alphabet));
    }

    #[test]
    fn debug_never_shows_the_code() {
        let code = code_from_seed(9);
        assert!(!format!("{code:?}").contains(code.canonical()));
    }

    #[test]
    fn birth_dates_compare_by_value() {
        let a = crate::patient::parse_birth_date("1980-03-14").unwrap();
        let b = crate::patient::parse_birth_date("1980-03-15").unwrap();
        assert!(birth_date_matches(a, a));
        assert!(!birth_date_matches(a, b));
    }

    proptest! {
        /// Any one symbol replaced by any other symbol of the alphabet is
        /// caught as a typo, never taken as another valid code.
        #[test]
        fn any_single_substitution_is_detected(
            bytes in proptest::collection::vec(any::<u8>(), 64),
            position in 0..CODE_LEN,
            replacement in 0..ALPHABET.len(),
        ) {
            let mut source = bytes.into_iter().cycle();
            let mut fill = |buf: &mut [u8]| {
                for b in buf.iter_mut() { *b = source.next().unwrap_or(0); }
                Ok::<_, ()>(())
            };
            let code = RetrievalCode::from_random(&mut fill).unwrap();
            let mut typed = code.canonical().as_bytes().to_vec();
            prop_assume!(typed[position] != ALPHABET[replacement]);
            typed[position] = ALPHABET[replacement];
            let typed = String::from_utf8(typed).unwrap();
            prop_assert_eq!(RetrievalCode::parse(&typed), Err(CodeError::Typo));
        }

        /// Swapping two different neighbouring symbols is caught too.
        #[test]
        fn any_swap_of_neighbours_is_detected(seed in any::<u8>(), position in 0..CODE_LEN - 1) {
            let code = code_from_seed(seed);
            let mut typed = code.canonical().as_bytes().to_vec();
            prop_assume!(typed[position] != typed[position + 1]);
            typed.swap(position, position + 1);
            let typed = String::from_utf8(typed).unwrap();
            prop_assert_eq!(RetrievalCode::parse(&typed), Err(CodeError::Typo));
        }
    }
}
