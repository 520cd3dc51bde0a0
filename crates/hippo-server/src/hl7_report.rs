//! The PDF of an HL7 finding whose message carried none: Hippo's findings
//! always have a report, so one is drawn from the message's own values on
//! the page frame of `pdf_page` (German and English labels). The
//! structured values are stored as well; the page lists as many as fit.

use hippo_core::patient::format_date;
use hippo_hl7::{IntakeFinding, OruMessage};
use pdf_writer::Content;

use crate::pdf_page::{Fonts, one_page, text, value_table};

/// Rows that fit below the header on one A4 page.
const ROWS_PER_PAGE: usize = 30;

pub fn render(message: &OruMessage, finding: &IntakeFinding) -> Vec<u8> {
    let header = &message.header;
    let facility = [&header.sending_facility, &header.sending_application]
        .into_iter()
        .find(|s| !s.is_empty())
        .map_or("Labor / Laboratory", |s| s.as_str());
    one_page(facility, |c, fonts| draw(c, fonts, message, finding))
}

fn draw(c: &mut Content, f: Fonts, message: &OruMessage, finding: &IntakeFinding) {
    let person = &message.patient.person;
    text(c, f.bold, 16.0, 50.0, 755.0, &finding.finding.title);
    text(
        c,
        f.regular,
        11.0,
        50.0,
        732.0,
        &format!(
            "Patient: {} {}   geb. / born {}",
            person.given_name,
            person.family_name,
            format_date(person.birth_date)
        ),
    );
    let mut details = Vec::new();
    if !finding.observed_at.is_empty() {
        details.push(format!("Befunddatum / observed: {}", finding.observed_at));
    }
    if !finding.placer_order.is_empty() {
        details.push(format!("Auftrag / order: {}", finding.placer_order));
    }
    if !finding.filler_order.is_empty() {
        details.push(format!("Labornummer / filler: {}", finding.filler_order));
    }
    text(c, f.regular, 10.0, 50.0, 716.0, &details.join("   "));

    // Long names and values are cut to their column.
    let shown: Vec<(String, String)> = finding
        .lines
        .iter()
        .take(ROWS_PER_PAGE)
        .map(|line| {
            let name = format!("{} ({})", line.display, line.code);
            (
                name.chars().take(40).collect(),
                line.value.chars().take(14).collect(),
            )
        })
        .collect();
    let y = value_table(
        c,
        f,
        [50.0, 250.0, 330.0, 400.0, 500.0],
        685.0,
        [
            "Untersuchung / test",
            "Ergebnis",
            "Einheit",
            "Referenz",
            "Flag",
        ],
        finding
            .lines
            .iter()
            .zip(&shown)
            .map(|(line, (name, value))| {
                [
                    name.as_str(),
                    value.as_str(),
                    line.unit.as_str(),
                    line.range.as_str(),
                    line.flag.as_str(),
                ]
            }),
    );
    c.set_fill_rgb(0.36, 0.42, 0.48);
    if finding.lines.len() > ROWS_PER_PAGE {
        text(
            c,
            f.regular,
            9.0,
            50.0,
            y - 24.0,
            &format!(
                "… {} weitere Werte in Hippo / more values in Hippo",
                finding.lines.len() - ROWS_PER_PAGE
            ),
        );
    }
    text(
        c,
        f.regular,
        8.0,
        50.0,
        60.0,
        "Aus einer HL7-Nachricht erzeugt von Hippo / rendered by Hippo from an HL7 message.",
    );
}
