//! Decoding audit records' canonical encodings (they arrive from outside
//! in proofs and exports): never a panic, and whatever decodes re-encodes
//! to exactly the same bytes (the encoding is unambiguous, which the
//! Merkle log relies on).
#![no_main]

use hippo_core::audit::CanonicalFields;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(fields) = CanonicalFields::<[u8]>::decode(data) {
        assert_eq!(fields.encode(), data);
    }
});
