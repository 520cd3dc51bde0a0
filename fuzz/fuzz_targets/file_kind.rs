//! Uploaded files (finding PDFs, message attachments): classifying any
//! bytes never panics, and whatever is accepted begins with the signature
//! of the kind it was accepted as.
#![no_main]

use hippo_core::file_kind::{FileKind, classify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(kind) = classify(data) {
        let signature: &[u8] = match kind {
            FileKind::Pdf => b"%PDF-",
            FileKind::Png => b"\x89PNG\r\n\x1a\n",
            FileKind::Jpeg => &[0xFF, 0xD8, 0xFF],
        };
        assert!(data.starts_with(signature));
    }
});
