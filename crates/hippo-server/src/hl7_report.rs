//! The PDF of an HL7 finding whose message carried none: Hippo's findings
//! always have a report, so one is drawn from the message's own values on
//! the page frame of `pdf_page` (German and English labels). The
//! structured values are stored as well; the page lists as many as fit.

use hippo_core::patient::format_date;
use hippo_hl7::{IntakeFinding, OruMessage};
use pdf_writer::Content;

use crate::pdf_page::{Fonts, one_page, text};

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

    let columns = [50.0, 250.0, 330.0, 400.0, 500.0];
    let mut y = 685.0;
    for (x, head) in columns.iter().zip([
        "Untersuchung / test",
        "Ergebnis",
        "Einheit",
        "Referenz",
        "Flag",
    ]) {
        text(c, f.bold, 10.0, *x, y, head);
    }
    y -= 6.0;
    c.set_fill_rgb(0.6, 0.65, 0.7);
    c.rect(50.0, y, 495.0, 0.7).fill_nonzero();
    for line in finding.lines.iter().take(ROWS_PER_PAGE) {
        y -= 18.0;
        let abnormal = !line.flag.is_empty() && line.flag != "N";
        if abnormal {
            c.set_fill_rgb(0.7, 0.15, 0.12);
        } else {
            c.set_fill_rgb(0.1, 0.15, 0.2);
        }
        let font = if abnormal { f.bold } else { f.regular };
        let name: String = format!("{} ({})", line.display, line.code)
            .chars()
            .take(40)
            .collect();
        let value: String = line.value.chars().take(14).collect();
        text(c, font, 10.0, columns[0], y, &name);
        text(c, font, 10.0, columns[1], y, &value);
        text(c, f.regular, 10.0, columns[2], y, &line.unit);
        text(c, f.regular, 10.0, columns[3], y, &line.range);
        text(c, font, 10.0, columns[4], y, &line.flag);
    }
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
