//! Identifiers from paths and query strings: parsing never panics, and an
//! accepted ID prints back to a string that parses to the same ID.
#![no_main]

use hippo_core::{AccountId, FindingId, PatientId, TenantId};
use libfuzzer_sys::fuzz_target;

fn round_trip<T: std::str::FromStr + ToString + PartialEq + std::fmt::Debug>(text: &str) {
    if let Ok(id) = text.parse::<T>() {
        let printed = id.to_string();
        assert_eq!(printed.parse::<T>().ok(), Some(id));
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    round_trip::<FindingId>(text);
    round_trip::<PatientId>(text);
    round_trip::<TenantId>(text);
    round_trip::<AccountId>(text);
});
