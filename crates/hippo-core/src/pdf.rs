//! Recognising a PDF by its content, never by its name or declared type.

/// PDF files start with `%PDF-` (ISO 32000-1 §7.5.2). Some producers put a
/// few bytes of junk first; readers accept the header within the first 1024
/// bytes, and so do we.
pub fn looks_like_pdf(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    head.windows(5).any(|w| w == b"%PDF-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_pdf_by_magic_bytes() {
        assert!(looks_like_pdf(b"%PDF-1.7\n..."));
        assert!(!looks_like_pdf(b"GIF89a"));
        assert!(!looks_like_pdf(b""));
        assert!(!looks_like_pdf(b"<html>%PD"));
    }
}
