//! The printed sheet of a retrieval code: where to go, the code, its QR
//! code and the expiry, in the issuing page's language. Nothing of the finding is
//! on it (no title, no values, no name): only what retrieving needs. The
//! QR code's modules are drawn as filled rectangles with pdf-writer.

use pdf_writer::{Content, Name};
use qrcode::{Color, EcLevel, QrCode};

use crate::i18n::{Lang, text as message, text_with};
use crate::pdf_page::{one_page, text};
use crate::retrieval_texts::{
    SHEET_HOW, SHEET_KEEP_SAFE, SHEET_TITLE, SHEET_VALID_UNTIL, SHEET_WHERE,
};

pub struct Sheet<'a> {
    pub facility: &'a str,
    /// The public retrieval page, e.g. `https://befunde.example.org/retrieve`.
    pub page_url: &'a str,
    /// The code as printed: `XXXX-XXXX-XXXX-XXXX`.
    pub code: &'a str,
    /// The expiry as written in `lang`, in the facility's time zone.
    pub valid_until: &'a str,
    /// Wrong dates of birth before the code locks.
    pub attempts: u32,
    pub lang: Lang,
}

/// What the QR code says: the retrieval page with the code filled in.
pub fn qr_text(sheet: &Sheet<'_>) -> String {
    format!("{}?code={}", sheet.page_url, sheet.code)
}

/// The QR code's modules, row by row (`true` is dark).
pub fn qr_modules(text: &str) -> Result<(usize, Vec<bool>), qrcode::types::QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)?;
    let width = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Ok((width, dark))
}

/// Long lines broken at spaces so they fit the page.
fn wrapped(s: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in s.split(' ') {
        let last = lines.last_mut().map(|l| l.len()).unwrap_or(0);
        if last > 0 && last + 1 + word.len() > width {
            lines.push(String::new());
        }
        if let Some(line) = lines.last_mut() {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// A paragraph, wrapped to the page.
fn paragraph(c: &mut Content, font: Name, y: &mut f32, size: f32, words: &str) {
    c.set_fill_rgb(0.1, 0.15, 0.2);
    for line in wrapped(words, 85) {
        text(c, font, size, 50.0, *y, &line);
        *y -= size + 4.0;
    }
    *y -= 8.0;
}

pub fn render(sheet: &Sheet<'_>) -> Result<Vec<u8>, qrcode::types::QrError> {
    let (width, modules) = qr_modules(&qr_text(sheet))?;
    Ok(one_page(sheet.facility, |c, fonts| {
        draw(c, fonts.regular, fonts.bold, sheet, width, &modules);
    }))
}

fn draw(
    c: &mut Content,
    f_regular: Name,
    f_bold: Name,
    sheet: &Sheet<'_>,
    width: usize,
    modules: &[bool],
) {
    c.set_fill_rgb(0.1, 0.15, 0.2);
    let lang = sheet.lang;
    text(c, f_bold, 18.0, 50.0, 750.0, &message(lang, SHEET_TITLE));
    // The code, large, in a box.
    c.set_fill_rgb(0.93, 0.95, 0.97);
    c.rect(50.0, 675.0, 495.0, 50.0).fill_nonzero();
    c.set_fill_rgb(0.1, 0.15, 0.2);
    text(c, f_bold, 28.0, 70.0, 690.0, sheet.code);
    let mut y = 645.0;
    paragraph(c, f_regular, &mut y, 11.0, &message(lang, SHEET_WHERE));
    c.set_fill_rgb(0.1, 0.15, 0.2);
    text(c, f_bold, 13.0, 50.0, y, sheet.page_url);
    y -= 28.0;
    paragraph(c, f_regular, &mut y, 11.0, &message(lang, SHEET_HOW));
    c.set_fill_rgb(0.1, 0.15, 0.2);
    let label = format!("{}:", message(lang, SHEET_VALID_UNTIL));
    text(c, f_regular, 11.0, 50.0, y, &label);
    // A line of its own: German letters turn a PDF string into hex, and
    // the date should stay findable in the file.
    text(c, f_bold, 12.0, 50.0, y - 16.0, sheet.valid_until);
    y -= 16.0;
    y -= 30.0;
    // The QR code: one filled square per dark module, with the quiet zone
    // of four modules left white around it.
    let module = 5.0_f32;
    let side = module * width as f32;
    let (left, top) = (50.0 + 4.0 * module, y - 4.0 * module);
    c.set_fill_rgb(0.0, 0.0, 0.0);
    for (i, dark) in modules.iter().enumerate() {
        if *dark {
            let (row, col) = ((i / width) as f32, (i % width) as f32);
            c.rect(
                left + col * module,
                top - (row + 1.0) * module,
                module,
                module,
            );
        }
    }
    c.fill_nonzero();
    y = top - side - 8.0 * module;
    let attempts = fluent_bundle::FluentValue::from(sheet.attempts);
    let keep_safe = text_with(lang, SHEET_KEEP_SAFE, &[("attempts", attempts)]);
    paragraph(c, f_regular, &mut y, 9.0, &keep_safe);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> Sheet<'static> {
        Sheet {
            facility: "Testzentrum Mitte",
            page_url: "https://befunde.example.org/retrieve",
            code: "ABCD-EFGH-JKMN-PQRS",
            valid_until: "2026-12-16 12:00 UTC",
            attempts: 5,
            lang: Lang::En,
        }
    }

    #[test]
    fn the_sheet_is_a_pdf_with_the_code_url_and_expiry() {
        let bytes = render(&sheet()).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&bytes);
        for needle in [
            "ABCD-EFGH-JKMN-PQRS",
            "https://befunde.example.org/retrieve",
            "2026-12-16 12:00 UTC",
            "Your retrieval code",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
        // One language per sheet, as chosen.
        assert!(!text.contains("Ihr Abrufcode"));
        let german = render(&Sheet {
            lang: Lang::De,
            ..sheet()
        })
        .unwrap();
        let german = String::from_utf8_lossy(&german);
        assert!(german.contains("Ihr Abrufcode") && !german.contains("Your retrieval code"));
        assert!(german.contains("Nach 5 falschen Versuchen"));
        // The configured attempts, not a fixed number.
        let seven = render(&Sheet {
            attempts: 7,
            ..sheet()
        })
        .unwrap();
        assert!(String::from_utf8_lossy(&seven).contains("after 7 wrong attempts"));
    }

    #[test]
    fn every_dark_module_of_the_qr_code_is_drawn() {
        let (width, modules) = qr_modules(&qr_text(&sheet())).unwrap();
        assert_eq!(modules.len(), width * width);
        let dark = modules.iter().filter(|d| **d).count();
        assert!(dark > width, "a QR code has many dark modules");
        let bytes = render(&sheet()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        // Four other rectangles: the header bar and the code's box.
        let drawn = text.matches(" re\n").count();
        assert_eq!(drawn, dark + 2, "one rectangle per dark module");
    }

    #[test]
    fn the_qr_code_carries_the_page_and_the_code() {
        let s = sheet();
        assert_eq!(
            qr_text(&s),
            "https://befunde.example.org/retrieve?code=ABCD-EFGH-JKMN-PQRS"
        );
        // Same text, same matrix; other text, other matrix.
        assert_eq!(
            qr_modules(&qr_text(&s)).unwrap(),
            qr_modules(&qr_text(&s)).unwrap()
        );
        let other = Sheet {
            code: "ABCD-EFGH-JKMN-PQRT",
            ..sheet()
        };
        assert_ne!(
            qr_modules(&qr_text(&s)).unwrap(),
            qr_modules(&qr_text(&other)).unwrap()
        );
    }
}
