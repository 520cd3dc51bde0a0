//! A one-page lab report PDF for the demo data, on the page frame of
//! `hippo_server::pdf_page`; the layout (a header and a table) is here.

use hippo_server::pdf_page::{Fonts, one_page, text, value_table};
use pdf_writer::Content;

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
    one_page(report.facility, |c, fonts| draw(c, fonts, report))
}

fn draw(c: &mut Content, f: Fonts, report: &Report<'_>) {
    text(c, f.bold, 16.0, 50.0, 755.0, report.title);
    text(
        c,
        f.regular,
        11.0,
        50.0,
        732.0,
        &format!("Patient: {}   geb. {}", report.patient, report.birth_date),
    );
    text(
        c,
        f.regular,
        11.0,
        50.0,
        716.0,
        &format!("Befunddatum: {}", report.date),
    );

    let names: Vec<String> = report
        .lines
        .iter()
        .map(|line| format!("{} ({})", line.display, line.code))
        .collect();
    value_table(
        c,
        f,
        [50.0, 235.0, 320.0, 390.0, 500.0],
        680.0,
        ["Untersuchung", "Ergebnis", "Einheit", "Referenz", "Flag"],
        report.lines.iter().zip(&names).map(|(line, name)| {
            [
                name.as_str(),
                line.value.as_str(),
                line.unit.as_str(),
                line.range.as_str(),
                line.flag.as_str(),
            ]
        }),
    );
    c.set_fill_rgb(0.36, 0.42, 0.48);
    text(
        c,
        f.regular,
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
