//! One A4 page in Helvetica, the frame of every PDF Hippo draws itself
//! (the retrieval sheet, the demo's lab reports): pdf-writer gives the file
//! structure, this gives the page, its two fonts, a facility banner and
//! text in WinAnsiEncoding.

use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};

/// The page's two fonts, as names in its content stream.
#[derive(Clone, Copy)]
pub struct Fonts {
    pub regular: Name<'static>,
    pub bold: Name<'static>,
}

/// Helvetica's WinAnsiEncoding has the German letters at their Latin-1
/// code points; the en dash has its own; anything else becomes '?'.
pub fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c as u32 {
            0x20..=0x7e | 0xa0..=0xff => c as u32 as u8,
            0x2013 => 0x96,
            _ => b'?',
        })
        .collect()
}

/// One line of text at (x, y).
pub fn text(content: &mut Content, font: Name, size: f32, x: f32, y: f32, s: &str) {
    let bytes = win_ansi(s);
    content
        .begin_text()
        .set_font(font, size)
        .next_line(x, y)
        .show(Str(&bytes))
        .end_text();
}

/// A table of lab values from `top` down: a bold header, a rule, one row
/// every 18 pt (`[name, value, unit, range, flag]`); a row whose flag is
/// set and not "N" is red, its name, value and flag bold. Answers the y of
/// the last row, for what goes below.
pub fn value_table<'a>(
    c: &mut Content,
    f: Fonts,
    columns: [f32; 5],
    top: f32,
    heads: [&str; 5],
    rows: impl IntoIterator<Item = [&'a str; 5]>,
) -> f32 {
    let mut y = top;
    for (x, head) in columns.iter().zip(heads) {
        text(c, f.bold, 10.0, *x, y, head);
    }
    y -= 6.0;
    c.set_fill_rgb(0.6, 0.65, 0.7);
    c.rect(50.0, y, 495.0, 0.7).fill_nonzero();
    for [name, value, unit, range, flag] in rows {
        y -= 18.0;
        let abnormal = !flag.is_empty() && flag != "N";
        if abnormal {
            c.set_fill_rgb(0.7, 0.15, 0.12);
        } else {
            c.set_fill_rgb(0.1, 0.15, 0.2);
        }
        let font = if abnormal { f.bold } else { f.regular };
        text(c, font, 10.0, columns[0], y, name);
        text(c, font, 10.0, columns[1], y, value);
        text(c, f.regular, 10.0, columns[2], y, unit);
        text(c, f.regular, 10.0, columns[3], y, range);
        text(c, font, 10.0, columns[4], y, flag);
    }
    y
}

/// A single A4 page with the facility's name in a banner on top; `draw`
/// adds the rest of the content.
pub fn one_page(facility: &str, draw: impl FnOnce(&mut Content, Fonts)) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let page_id = Ref::new(3);
    let regular = Ref::new(4);
    let bold = Ref::new(5);
    let content_id = Ref::new(6);
    let fonts = Fonts {
        regular: Name(b"F1"),
        bold: Name(b"F2"),
    };

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page_id]).count(1);
    let mut page = pdf.page(page_id);
    page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
    page.parent(tree);
    page.contents(content_id);
    let mut resources = page.resources();
    let mut font_map = resources.fonts();
    font_map.pair(fonts.regular, regular);
    font_map.pair(fonts.bold, bold);
    drop(font_map);
    drop(resources);
    drop(page);
    for (id, base) in [(regular, &b"Helvetica"[..]), (bold, &b"Helvetica-Bold"[..])] {
        pdf.type1_font(id)
            .base_font(Name(base))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }

    let mut c = Content::new();
    c.set_fill_rgb(0.12, 0.44, 0.55);
    c.rect(0.0, 792.0, 595.0, 50.0).fill_nonzero();
    c.set_fill_rgb(1.0, 1.0, 1.0);
    text(&mut c, fonts.bold, 18.0, 50.0, 810.0, facility);
    c.set_fill_rgb(0.1, 0.15, 0.2);
    draw(&mut c, fonts);
    let content = c.finish();
    pdf.stream(content_id, &content);
    pdf.finish()
}
