//! The finding metadata JSON (title and observations) of the API upload:
//! never a panic, and what parses is valid by the domain's own rules.
#![no_main]

use hippo_core::finding::NewFinding;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(finding) = NewFinding::parse_json(json) {
        assert!(!finding.title.trim().is_empty());
        // Parsing what was accepted once more gives the same finding.
        let again = NewFinding::parse_json(json).expect("deterministic");
        assert_eq!(again.title, finding.title);
    }
});
