//! A one-page lab report PDF for the demo data. pdf-writer gives us the
//! file structure; the layout (a header and a table) is a few lines here.

use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};

pub struct ReportLine {
    pub display: String,
    pub code: String,
    pub value: String,
    pub unit: String,
    pub range: String,
    pub flag: String,
}

pub struct Report<'a> {
    pub facility: &'a str,
    pub title: &'a str,
    pub patient: &'a str,
    pub birth_date: &'a str,
    pub date: &'a str,
    pub lines: &'a [ReportLine],
}

/// The standard Helvetica font uses WinAnsiEncoding, in which the German
/// letters sit at their Latin-1 code points; anything else becomes '?'.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c as u32 {
            0x20..=0x7e | 0xa0..=0xff => c as u32 as u8,
            0x2013 => 0x96, // en dash
            0x2264 | 0x2265 => b'?',
            _ => b'?',
        })
        .collect()
}

fn text(content: &mut Content, font: Name, size: f32, x: f32, y: f32, s: &str) {
    let bytes = win_ansi(s);
    content
        .begin_text()
        .set_font(font, size)
        .next_line(x, y)
        .show(Str(&bytes))
        .end_text();
}

pub fn render(report: &Report<'_>) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let page_id = Ref::new(3);
    let regular = Ref::new(4);
    let bold = Ref::new(5);
    let content_id = Ref::new(6);
    let (f_regular, f_bold) = (Name(b"F1"), Name(b"F2"));

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page_id]).count(1);
    let mut page = pdf.page(page_id);
    page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
    page.parent(tree);
    page.contents(content_id);
    let mut resources = page.resources();
    let mut fonts = resources.fonts();
    fonts.pair(f_regular, regular);
    fonts.pair(f_bold, bold);
    drop(fonts);
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
    text(&mut c, f_bold, 18.0, 50.0, 810.0, report.facility);
    c.set_fill_rgb(0.1, 0.15, 0.2);
    text(&mut c, f_bold, 16.0, 50.0, 755.0, report.title);
    text(
        &mut c,
        f_regular,
        11.0,
        50.0,
        732.0,
        &format!("Patient: {}   geb. {}", report.patient, report.birth_date),
    );
    text(
        &mut c,
        f_regular,
        11.0,
        50.0,
        716.0,
        &format!("Befunddatum: {}", report.date),
    );

    let columns = [50.0, 235.0, 320.0, 390.0, 500.0];
    let mut y = 680.0;
    for (x, head) in columns
        .iter()
        .zip(["Untersuchung", "Ergebnis", "Einheit", "Referenz", "Flag"])
    {
        text(&mut c, f_bold, 10.0, *x, y, head);
    }
    y -= 6.0;
    c.set_fill_rgb(0.6, 0.65, 0.7);
    c.rect(50.0, y, 495.0, 0.7).fill_nonzero();
    for line in report.lines {
        y -= 18.0;
        let abnormal = !line.flag.is_empty() && line.flag != "N";
        if abnormal {
            c.set_fill_rgb(0.7, 0.15, 0.12);
        } else {
            c.set_fill_rgb(0.1, 0.15, 0.2);
        }
        let font = if abnormal { f_bold } else { f_regular };
        text(
            &mut c,
            font,
            10.0,
            columns[0],
            y,
            &format!("{} ({})", line.display, line.code),
        );
        text(&mut c, font, 10.0, columns[1], y, &line.value);
        text(&mut c, f_regular, 10.0, columns[2], y, &line.unit);
        text(&mut c, f_regular, 10.0, columns[3], y, &line.range);
        text(&mut c, font, 10.0, columns[4], y, &line.flag);
    }
    c.set_fill_rgb(0.36, 0.42, 0.48);
    text(
        &mut c,
        f_regular,
        8.0,
        50.0,
        60.0,
        "Demo-Befund, erzeugt von Hippo. Keine echten Patientendaten.",
    );
    let content = c.finish();
    pdf.stream(content_id, &content);
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Demo reports go through the same strict content check as uploads.
    #[test]
    fn demo_reports_pass_the_strict_pdf_check() {
        let lines = [ReportLine {
            display: "Hämoglobin".into(),
            code: "718-7".into(),
            value: "13,9".into(),
            unit: "g/dl".into(),
            range: "12–16".into(),
            flag: "N".into(),
        }];
        let bytes = render(&Report {
            facility: "Praxis Dr. Keller",
            title: "Blutbild",
            patient: "Max Schmidt",
            birth_date: "1980-04-02",
            date: "2026-12-02",
            lines: &lines,
        });
        assert_eq!(
            hippo_core::file_kind::classify(&bytes),
            Ok(hippo_core::file_kind::FileKind::Pdf)
        );
    }
}
