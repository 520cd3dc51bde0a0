//! What a file is, decided by its bytes alone, never by its name or the
//! type a client declares. Strict on purpose: a file must begin with its
//! signature at byte 0 and parse as what it claims, and nothing a browser
//! could run may hide in it. A PDF that an HTML parser would also accept
//! (a polyglot), an executable with `%PDF-` somewhere in its first
//! kilobyte, or a PNG with a page appended after its end are refused.
//!
//! The image formats are parsed by `png` and `zune-jpeg` (decoding proves
//! the data is an image); PDF has no small, well-kept parser, and the
//! structural check here (header, trailer, cross-reference table whose
//! entries point at the objects they name) is what we need of one.

use std::io::Cursor;

/// The kinds of files Hippo accepts (finding reports, attachments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    Pdf,
    Png,
    Jpeg,
}

impl FileKind {
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Png => "png",
            Self::Jpeg => "jpg",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Png => "png",
            Self::Jpeg => "jpeg",
        }
    }

    /// The kind a stored media type names (for files classified before).
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        [Self::Pdf, Self::Png, Self::Jpeg]
            .into_iter()
            .find(|k| k.media_type() == media_type)
    }
}

/// Why a file was refused; the text is fit to show the uploader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusedFile {
    #[error("the file is empty")]
    Empty,
    #[error("the file is neither a PDF, a PNG nor a JPEG (judged by its content)")]
    Unrecognised,
    #[error("the file starts like a {} but is not a valid one: {reason}", kind.as_str())]
    Malformed {
        kind: FileKind,
        reason: &'static str,
    },
    #[error("the {} contains {marker}, which is not allowed", kind.as_str())]
    ActiveContent {
        kind: FileKind,
        marker: &'static str,
    },
    #[error("a {} is required, this file is a {}", expected.as_str(), found.as_str())]
    WrongKind { expected: FileKind, found: FileKind },
}

/// Largest image we decode to check it (pixels), against decompression
/// bombs: a 10 MB PNG can otherwise claim gigabytes of pixels.
const MAX_IMAGE_PIXELS: u64 = 40_000_000;
const MAX_IMAGE_SIDE: usize = 20_000;

/// Classify `bytes` strictly; see the module documentation.
pub fn classify(bytes: &[u8]) -> Result<FileKind, RefusedFile> {
    if bytes.is_empty() {
        return Err(RefusedFile::Empty);
    }
    let kind = if bytes.starts_with(b"%PDF-") {
        check_pdf_structure(bytes)?;
        FileKind::Pdf
    } else if bytes.starts_with(PNG_SIGNATURE) {
        check_png(bytes)?;
        FileKind::Png
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        check_jpeg(bytes)?;
        FileKind::Jpeg
    } else {
        return Err(RefusedFile::Unrecognised);
    };
    if let Some(marker) = markup_marker(bytes) {
        return Err(RefusedFile::ActiveContent { kind, marker });
    }
    Ok(kind)
}

/// A file that must be a PDF (finding reports).
pub fn require_pdf(bytes: &[u8]) -> Result<(), RefusedFile> {
    match classify(bytes)? {
        FileKind::Pdf => Ok(()),
        found => Err(RefusedFile::WrongKind {
            expected: FileKind::Pdf,
            found,
        }),
    }
}

/// Markup that makes a file a polyglot: a browser sniffing it, or a page
/// embedding it, would run it. Lower-case ASCII, matched case-insensitively.
const MARKUP: &[&str] = &[
    "<html",
    "<!doctype",
    "<script",
    "<body",
    "<iframe",
    "<svg",
    "<object",
    "<embed",
    "<meta",
    "<?xml-stylesheet",
];

/// Names that make a PDF active (scripts, launching programs, embedded
/// files, forms that run code); a lab report needs none of them.
const PDF_ACTIVE_NAMES: &[&str] = &[
    "/JavaScript",
    "/JS",
    "/Launch",
    "/EmbeddedFile",
    "/EmbeddedFiles",
    "/RichMedia",
    "/XFA",
];

/// One pass over the file: every marker starts with `<`, so only the
/// places after a `<` are compared (a 10 MB upload is checked in one scan,
/// not one per marker).
fn markup_marker(bytes: &[u8]) -> Option<&'static str> {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'<')
        .find_map(|(at, _)| {
            MARKUP.iter().copied().find(|m| {
                bytes
                    .get(at..at + m.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(m.as_bytes()))
            })
        })
}

fn malformed(kind: FileKind, reason: &'static str) -> RefusedFile {
    RefusedFile::Malformed { kind, reason }
}

// --- PDF ----------------------------------------------------------------

fn pdf_error(reason: &'static str) -> RefusedFile {
    malformed(FileKind::Pdf, reason)
}

/// Header `%PDF-1.0`..`%PDF-2.0` at byte 0, `%%EOF` at the end (only
/// whitespace after it), a `startxref` offset that points at a
/// cross-reference table or stream, and, for a table, in-use entries that
/// each point at the object they name. No active names.
fn check_pdf_structure(bytes: &[u8]) -> Result<(), RefusedFile> {
    let version = bytes.get(5..8).ok_or(pdf_error("truncated header"))?;
    let known = matches!(
        version,
        b"1.0" | b"1.1" | b"1.2" | b"1.3" | b"1.4" | b"1.5" | b"1.6" | b"1.7" | b"2.0"
    );
    if !known {
        return Err(pdf_error("unknown version in the header"));
    }
    if !matches!(bytes.get(8), Some(b'\r' | b'\n' | b' ' | b'%')) {
        return Err(pdf_error("header not followed by a line end"));
    }
    let end = trim_end_whitespace(bytes);
    let body = end
        .strip_suffix(b"%%EOF")
        .ok_or(pdf_error("does not end with %%EOF"))?;
    let tail_start = body.len().saturating_sub(64);
    let tail = &body[tail_start..];
    let at = rfind(tail, b"startxref").ok_or(pdf_error("no startxref before %%EOF"))?;
    let digits = trim_whitespace(&tail[at + b"startxref".len()..]);
    let offset: usize = std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(pdf_error("startxref is not followed by an offset"))?;
    let section = bytes
        .get(offset..body.len())
        .ok_or(pdf_error("startxref points outside the file"))?;
    if section.starts_with(b"xref") {
        check_xref_table(bytes, &section[4..])?;
    } else {
        // A cross-reference stream (PDF 1.5+): an object of /Type /XRef.
        let (_, rest) = object_header(section).ok_or(pdf_error("startxref points at nothing"))?;
        let dict_end = rest.len().min(1024);
        if !contains(&rest[..dict_end], b"/XRef") {
            return Err(pdf_error(
                "startxref points at an object that is no XRef stream",
            ));
        }
    }
    if let Some(name) = PDF_ACTIVE_NAMES
        .iter()
        .find(|n| contains_pdf_name(bytes, n))
    {
        return Err(RefusedFile::ActiveContent {
            kind: FileKind::Pdf,
            marker: name,
        });
    }
    Ok(())
}

/// Parse the subsections of a classic cross-reference table (ISO 32000-1
/// §7.5.4) and check that every in-use entry points at `N G obj`.
fn check_xref_table(file: &[u8], mut rest: &[u8]) -> Result<(), RefusedFile> {
    let mut entries = 0usize;
    loop {
        rest = trim_start_whitespace(rest);
        if rest.starts_with(b"trailer") {
            break;
        }
        let (first, after) = number(rest).ok_or(pdf_error("bad xref subsection header"))?;
        let (count, after) =
            number(trim_start_whitespace(after)).ok_or(pdf_error("bad xref subsection header"))?;
        rest = after;
        for object in first..first.saturating_add(count) {
            rest = trim_start_whitespace(rest);
            let entry = rest.get(..18).ok_or(pdf_error("truncated xref entry"))?;
            let offset: usize = ascii_number(&entry[..10]).ok_or(pdf_error("bad xref entry"))?;
            let generation: usize =
                ascii_number(&entry[11..16]).ok_or(pdf_error("bad xref entry"))?;
            match entry[17] {
                b'n' => {
                    let target = file
                        .get(offset..)
                        .and_then(object_header)
                        .ok_or(pdf_error("an xref entry points at no object"))?;
                    if target.0 != (object, generation) {
                        return Err(pdf_error("an xref entry points at another object"));
                    }
                }
                b'f' => {}
                _ => return Err(pdf_error("bad xref entry type")),
            }
            rest = &rest[18..];
            entries += 1;
        }
    }
    if entries == 0 {
        return Err(pdf_error("empty cross-reference table"));
    }
    let trailer = &rest[..rest.len().min(2048)];
    if !contains(trailer, b"/Root") {
        return Err(pdf_error("trailer without /Root"));
    }
    Ok(())
}

/// `N G obj` at the start of `bytes` (after whitespace): the object's
/// number and generation, and what follows.
fn object_header(bytes: &[u8]) -> Option<((usize, usize), &[u8])> {
    let (number_, rest) = number(trim_start_whitespace(bytes))?;
    let (generation, rest) = number(trim_start_whitespace(rest))?;
    let rest = trim_start_whitespace(rest).strip_prefix(b"obj")?;
    Some(((number_, generation), rest))
}

fn number(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let len = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || len > 10 {
        return None;
    }
    Some((ascii_number(&bytes[..len])?, &bytes[len..]))
}

fn ascii_number(bytes: &[u8]) -> Option<usize> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// A PDF name such as `/JS`, also when written with `#xx` escapes of its
/// letters, and only as a whole name (`/JSON` is not `/JS`).
fn contains_pdf_name(bytes: &[u8], name: &str) -> bool {
    let name = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' {
            let (decoded, len) = decode_name(&bytes[i + 1..]);
            if decoded == name[1..] {
                return true;
            }
            i += len;
        }
        i += 1;
    }
    false
}

/// The name after a `/`, `#xx` escapes decoded, and how many bytes it took.
fn decode_name(bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() && out.len() < 32 {
        let b = bytes[i];
        if b.is_ascii_whitespace() || b"/[]<>(){}%".contains(&b) {
            break;
        }
        if b == b'#'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Some(value) = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(value);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    (out, i)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

fn trim_end_whitespace(bytes: &[u8]) -> &[u8] {
    let len = bytes.len()
        - bytes
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace() || **b == 0)
            .count();
    &bytes[..len]
}

fn trim_start_whitespace(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[skip..]
}

fn trim_whitespace(bytes: &[u8]) -> &[u8] {
    trim_start_whitespace(trim_end_whitespace(bytes))
}

// --- PNG ----------------------------------------------------------------

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn png_error(reason: &'static str) -> RefusedFile {
    malformed(FileKind::Png, reason)
}

/// Every chunk well-framed with a correct CRC, `IHDR` first, `IEND` last
/// with nothing after it, and the image data decoding to the declared size.
fn check_png(bytes: &[u8]) -> Result<(), RefusedFile> {
    let mut rest = &bytes[PNG_SIGNATURE.len()..];
    let mut first = true;
    loop {
        let length = rest
            .get(..4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or(png_error("truncated chunk"))?;
        let chunk = rest
            .get(4..8 + length + 4)
            .ok_or(png_error("truncated chunk"))?;
        let (typed, crc) = chunk.split_at(4 + length);
        let stored = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32fast::hash(typed) != stored {
            return Err(png_error("chunk checksum mismatch"));
        }
        let kind = &typed[..4];
        if first && kind != b"IHDR" {
            return Err(png_error("first chunk is not IHDR"));
        }
        first = false;
        rest = &rest[8 + length + 4..];
        if kind == b"IEND" {
            if !rest.is_empty() {
                return Err(png_error("data after the end of the image"));
            }
            break;
        }
    }
    let limits = png::Limits { bytes: 256 << 20 };
    let decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
    let mut reader = decoder
        .read_info()
        .map_err(|_| png_error("unreadable header"))?;
    let info = reader.info();
    if u64::from(info.width) * u64::from(info.height) > MAX_IMAGE_PIXELS {
        return Err(png_error("image too large to check"));
    }
    let size = reader
        .output_buffer_size()
        .ok_or(png_error("image too large to check"))?;
    let mut pixels = vec![0; size];
    reader
        .next_frame(&mut pixels)
        .map_err(|_| png_error("image data does not decode"))?;
    Ok(())
}

// --- JPEG ---------------------------------------------------------------

fn jpeg_error(reason: &'static str) -> RefusedFile {
    malformed(FileKind::Jpeg, reason)
}

/// Start-of-image at byte 0, end-of-image as the last two bytes, and the
/// scan decoding in strict mode.
fn check_jpeg(bytes: &[u8]) -> Result<(), RefusedFile> {
    if !bytes.ends_with(&[0xFF, 0xD9]) {
        return Err(jpeg_error("does not end with the end-of-image marker"));
    }
    let options = zune_core::options::DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(MAX_IMAGE_SIDE)
        .set_max_height(MAX_IMAGE_SIDE);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(Cursor::new(bytes), options);
    decoder
        .decode_headers()
        .map_err(|_| jpeg_error("unreadable header"))?;
    let (width, height) = decoder
        .dimensions()
        .ok_or(jpeg_error("unreadable header"))?;
    if (width as u64) * (height as u64) > MAX_IMAGE_PIXELS {
        return Err(jpeg_error("image too large to check"));
    }
    decoder
        .decode()
        .map_err(|_| jpeg_error("image data does not decode"))?;
    Ok(())
}

/// The smallest PDF that passes [`classify`], carrying `note` in a content
/// stream: for tests, benchmarks and fuzz seeds that need a valid report
/// with a recognisable marker in it.
pub fn minimal_pdf(note: &str) -> Vec<u8> {
    let stream = format!("% {note}\n");
    pdf_with_objects(&[
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}endstream", stream.len()),
    ])
}

/// A PDF of the given objects (numbered from 1, the first the catalog),
/// with the cross-reference table computed.
pub fn pdf_with_objects(objects: &[String]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    let size = objects.len() + 1;
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

#[cfg(test)]
#[path = "file_kind_tests.rs"]
mod tests;
