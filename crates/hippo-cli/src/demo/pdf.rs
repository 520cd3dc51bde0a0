//! A one-page lab report PDF for the demo data, on the page frame of
//! `hippo_server::pdf_page`; the layout (a header and a table) is here.

use hippo_server::pdf_page::{one_page, text};
use pdf_writer::{Content, Name};

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

pub fn render(report: &Report<'_>) -> Vec<u8> {
    one_page(report.facility, |c, fonts| {
        draw(c, fonts.regular, fonts.bold, report)
    })
}

fn draw(c: &mut Content, f_regular: Name, f_bold: Name, report: &Report<'_>) {
    text(c, f_bold, 16.0, 50.0, 755.0, report.title);
    text(
        c,
        f_regular,
        11.0,
        50.0,
        732.0,
        &format!("Patient: {}   geb. {}", report.patient, report.birth_date),
    );
    text(
        c,
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
        text(c, f_bold, 10.0, *x, y, head);
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
            c,
            font,
            10.0,
            columns[0],
            y,
            &format!("{} ({})", line.display, line.code),
        );
        text(c, font, 10.0, columns[1], y, &line.value);
        text(c, f_regular, 10.0, columns[2], y, &line.unit);
        text(c, f_regular, 10.0, columns[3], y, &line.range);
        text(c, font, 10.0, columns[4], y, &line.flag);
    }
    c.set_fill_rgb(0.36, 0.42, 0.48);
    text(
        c,
        f_regular,
        8.0,
        50.0,
        60.0,
        "Demo-Befund, erzeugt von Hippo. Keine echten Patientendaten.",
    );
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
