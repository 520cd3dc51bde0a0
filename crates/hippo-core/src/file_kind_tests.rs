use super::*;

const PDF: &[u8] = include_bytes!("file_kind_fixtures/minimal.pdf");
const PNG: &[u8] = include_bytes!("file_kind_fixtures/tile.png");
const JPEG: &[u8] = include_bytes!("file_kind_fixtures/tile.jpg");

fn refused(bytes: &[u8]) -> RefusedFile {
    classify(bytes).expect_err("must be refused")
}

#[test]
fn real_files_are_recognised_by_content() {
    assert_eq!(classify(PDF), Ok(FileKind::Pdf));
    assert_eq!(classify(PNG), Ok(FileKind::Png));
    assert_eq!(classify(JPEG), Ok(FileKind::Jpeg));
    assert_eq!(require_pdf(PDF), Ok(()));
}

#[test]
fn the_signature_must_be_at_byte_zero() {
    // An executable with `%PDF-` in its first kilobyte (what the old check
    // accepted): refused.
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
    exe.extend_from_slice(&[0; 100]);
    exe.extend_from_slice(PDF);
    assert_eq!(refused(&exe), RefusedFile::Unrecognised);
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.extend_from_slice(PDF);
    assert_eq!(refused(&elf), RefusedFile::Unrecognised);
    let mut padded = b"   ".to_vec();
    padded.extend_from_slice(PDF);
    assert_eq!(refused(&padded), RefusedFile::Unrecognised);
    assert_eq!(refused(b""), RefusedFile::Empty);
    assert_eq!(refused(b"GIF89a\x01\x00"), RefusedFile::Unrecognised);
}

#[test]
fn html_pdf_polyglots_are_refused() {
    // HTML first, PDF after: no signature at byte 0.
    let mut html_first = b"<html><script>alert(1)</script>".to_vec();
    html_first.extend_from_slice(PDF);
    assert_eq!(refused(&html_first), RefusedFile::Unrecognised);
    // PDF first with a page inside a comment: a browser sniffing it runs it.
    let polyglot = insert_after_header(
        PDF,
        b"%<html><body><script>alert(document.cookie)</script>\n",
    );
    assert!(matches!(
        refused(&polyglot),
        RefusedFile::ActiveContent {
            kind: FileKind::Pdf,
            ..
        } | RefusedFile::Malformed { .. }
    ));
    let comment_only = insert_after_header(PDF, b"%<SCRIPT>\n");
    assert!(classify(&comment_only).is_err());
    // Structurally valid PDF with a page in a string: still refused.
    let valid_structure =
        build_pdf("<< /Type /Catalog /Pages 2 0 R /Title (<HTML><Script>x</Script>) >>");
    assert_eq!(
        refused(&valid_structure),
        RefusedFile::ActiveContent {
            kind: FileKind::Pdf,
            marker: "<html"
        }
    );
}

#[test]
fn a_pdf_must_parse_as_one() {
    // The test suite's old stand-in: header and %%EOF, no cross-reference.
    let stub = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
    assert!(matches!(
        refused(stub),
        RefusedFile::Malformed {
            kind: FileKind::Pdf,
            ..
        }
    ));
    assert!(matches!(refused(b"%PDF-"), RefusedFile::Malformed { .. }));
    assert!(matches!(
        refused(b"%PDF-9.9\n%%EOF"),
        RefusedFile::Malformed { .. }
    ));
    // Truncated: no %%EOF.
    assert!(matches!(
        refused(&PDF[..PDF.len() - 7]),
        RefusedFile::Malformed { .. }
    ));
    // Something appended after %%EOF.
    let mut appended = PDF.to_vec();
    appended.extend_from_slice(b"MZ\x90\x00");
    assert!(matches!(refused(&appended), RefusedFile::Malformed { .. }));
    // An xref entry that points at the wrong place.
    let shifted = insert_after_header(PDF, b"% shifted\n");
    assert!(matches!(refused(&shifted), RefusedFile::Malformed { .. }));
}

#[test]
fn active_pdfs_are_refused() {
    for name in ["/JavaScript", "/JS", "/J#53", "/Launch", "/EmbeddedFiles"] {
        let dict = format!("<< /Type /Catalog /Pages 2 0 R /OpenAction << /S {name} >> >>");
        let pdf = build_pdf(&dict);
        assert!(
            matches!(
                refused(&pdf),
                RefusedFile::ActiveContent {
                    kind: FileKind::Pdf,
                    ..
                }
            ),
            "{name}"
        );
    }
    // A name that merely starts like one is fine.
    let fine = build_pdf("<< /Type /Catalog /Pages 2 0 R /JSON 1 >>");
    assert_eq!(classify(&fine), Ok(FileKind::Pdf));
}

#[test]
fn images_must_decode_and_end_where_they_end() {
    let mut after_iend = PNG.to_vec();
    after_iend.extend_from_slice(b"<html>");
    assert!(matches!(
        refused(&after_iend),
        RefusedFile::Malformed {
            kind: FileKind::Png,
            ..
        }
    ));
    let mut bad_crc = PNG.to_vec();
    bad_crc[20] ^= 0xFF;
    assert!(matches!(
        refused(&bad_crc),
        RefusedFile::Malformed {
            kind: FileKind::Png,
            ..
        }
    ));
    assert!(matches!(
        refused(&PNG[..40]),
        RefusedFile::Malformed {
            kind: FileKind::Png,
            ..
        }
    ));
    let mut after_eoi = JPEG.to_vec();
    after_eoi.extend_from_slice(b"<script>");
    assert!(matches!(
        refused(&after_eoi),
        RefusedFile::Malformed {
            kind: FileKind::Jpeg,
            ..
        }
    ));
    let mut header_only = JPEG[..20].to_vec();
    header_only.extend_from_slice(&[0xFF, 0xD9]);
    assert!(matches!(
        refused(&header_only),
        RefusedFile::Malformed {
            kind: FileKind::Jpeg,
            ..
        }
    ));
    assert_eq!(
        require_pdf(PNG),
        Err(RefusedFile::WrongKind {
            expected: FileKind::Pdf,
            found: FileKind::Png
        })
    );
}

#[test]
fn markup_inside_an_image_is_refused() {
    // A JPEG comment segment (COM) carrying a page.
    let comment = b"<svg onload=alert(1)>";
    let mut jpeg = JPEG[..2].to_vec();
    jpeg.extend_from_slice(&[0xFF, 0xFE]);
    jpeg.extend_from_slice(&((comment.len() + 2) as u16).to_be_bytes());
    jpeg.extend_from_slice(comment);
    jpeg.extend_from_slice(&JPEG[2..]);
    assert!(matches!(
        refused(&jpeg),
        RefusedFile::ActiveContent {
            kind: FileKind::Jpeg,
            marker: "<svg"
        }
    ));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for len in 0..400 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let _ = classify(&bytes);
        for prefix in [&b"%PDF-1.4\n"[..], PNG_SIGNATURE, &[0xFF, 0xD8, 0xFF]] {
            let mut framed = prefix.to_vec();
            framed.extend_from_slice(&bytes);
            let _ = classify(&framed);
        }
    }
    for cut in 0..PDF.len() {
        let _ = classify(&PDF[..cut]);
    }
    for cut in 0..PNG.len() {
        let _ = classify(&PNG[..cut]);
    }
    for cut in 0..JPEG.len() {
        let _ = classify(&JPEG[..cut]);
    }
}

fn insert_after_header(pdf: &[u8], insert: &[u8]) -> Vec<u8> {
    let mut out = pdf[..9].to_vec();
    out.extend_from_slice(insert);
    out.extend_from_slice(&pdf[9..]);
    out
}

/// A one-page PDF with the given catalog.
fn build_pdf(catalog: &str) -> Vec<u8> {
    pdf_with_objects(&[
        catalog.to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>".to_owned(),
    ])
}

#[test]
fn the_sample_pdf_passes_and_carries_its_note() {
    let pdf = minimal_pdf("MARKER-42");
    assert_eq!(classify(&pdf), Ok(FileKind::Pdf));
    assert!(pdf.windows(9).any(|w| w == b"MARKER-42"));
}
