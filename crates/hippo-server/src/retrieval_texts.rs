//! Every text a code holder sees, in German and English, in one place:
//! the public retrieval page, its refusals and the printed sheet. The rest
//! of the UI is English only; test-centre clients are often neither staff
//! nor account holders, so this part speaks both.

use hippo_core::retrieval::RetrievalRefusal;

/// One text in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bilingual {
    pub german: &'static str,
    pub english: &'static str,
}

const fn both(german: &'static str, english: &'static str) -> Bilingual {
    Bilingual { german, english }
}

pub fn refusal(refusal: RetrievalRefusal) -> Bilingual {
    match refusal {
        RetrievalRefusal::NotRecognised => both(
            "Code oder Geburtsdatum ist nicht korrekt.",
            "The code or the date of birth is not correct.",
        ),
        RetrievalRefusal::Expired => both(
            "Dieser Code ist abgelaufen. Bitte wenden Sie sich an Ihre Einrichtung.",
            "This code has expired. Please contact your facility.",
        ),
        RetrievalRefusal::Revoked => both(
            "Dieser Code wurde zurückgezogen. Bitte wenden Sie sich an Ihre Einrichtung.",
            "This code was revoked. Please contact your facility.",
        ),
        RetrievalRefusal::Withdrawn => both(
            "Der Befund zu diesem Code ist nicht mehr verfügbar. Bitte wenden Sie sich an Ihre Einrichtung.",
            "The finding of this code is no longer available. Please contact your facility.",
        ),
        RetrievalRefusal::Locked => both(
            "Dieser Code ist nach zu vielen Fehlversuchen gesperrt. Bitte wenden Sie sich an Ihre Einrichtung.",
            "This code is locked after too many wrong attempts. Please contact your facility.",
        ),
    }
}

pub const TYPO: Bilingual = both(
    "Der Code enthält einen Tippfehler. Bitte vergleichen Sie ihn mit dem Ausdruck.",
    "The code contains a typo. Please compare it with the printed sheet.",
);
pub const MALFORMED_CODE: Bilingual = both(
    "Ein Code hat 16 Zeichen: Ziffern 2-9 und Buchstaben A-Z ohne I, L und O.",
    "A code has 16 characters: digits 2-9 and letters A-Z without I, L and O.",
);
pub const MALFORMED_BIRTH_DATE: Bilingual = both(
    "Bitte geben Sie das Geburtsdatum als TT.MM.JJJJ oder JJJJ-MM-TT an.",
    "Please enter the date of birth as YYYY-MM-DD.",
);
pub const RATE_LIMITED: Bilingual = both(
    "Zu viele Versuche. Bitte warten Sie eine Minute.",
    "Too many attempts. Please wait a minute.",
);

pub const PAGE_TITLE: Bilingual = both("Befund abrufen", "Retrieve a finding");
pub const PAGE_INTRO: Bilingual = both(
    "Geben Sie den Code von Ihrem Ausdruck und Ihr Geburtsdatum ein.",
    "Enter the code from your printed sheet and your date of birth.",
);
pub const CODE_LABEL: Bilingual = both("Code", "Code");
pub const BIRTH_DATE_LABEL: Bilingual = both("Geburtsdatum", "Date of birth");
pub const SUBMIT: Bilingual = both("Abrufen", "Retrieve");
pub const PDF_LINK: Bilingual = both(
    "Bericht herunterladen (PDF, einmalig, 10 Minuten gültig)",
    "Download report (PDF, once, valid for 10 minutes)",
);

// The printed sheet.
pub const SHEET_TITLE: Bilingual = both("Ihr Abrufcode", "Your retrieval code");
pub const SHEET_WHERE: Bilingual = both(
    "Rufen Sie Ihren Befund hier ab:",
    "Retrieve your finding here:",
);
pub const SHEET_HOW: Bilingual = both(
    "Geben Sie dort den Code und Ihr Geburtsdatum ein, oder scannen Sie den QR-Code.",
    "Enter the code and your date of birth there, or scan the QR code.",
);
pub const SHEET_VALID_UNTIL: Bilingual = both("Gültig bis", "Valid until");
/// The warning at the foot of the sheet, with the configured attempts.
pub fn sheet_keep_safe(attempts: u32) -> (String, String) {
    (
        format!(
            "Bewahren Sie diesen Code sicher auf: Mit ihm und Ihrem Geburtsdatum kann Ihr Befund abgerufen werden. Nach {attempts} falschen Versuchen wird er gesperrt."
        ),
        format!(
            "Keep this code safe: with it and your date of birth your finding can be retrieved. It locks after {attempts} wrong attempts."
        ),
    )
}
