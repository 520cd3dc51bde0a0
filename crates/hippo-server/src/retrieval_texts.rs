//! Every text a code holder sees, as message keys of the `retrieval` area
//! (`locales/{de,en}/retrieval.ftl`): the public retrieval page, its
//! refusals and the printed sheet, each in the one language chosen (the
//! language switch, else the browser's). One key per kind of refusal, so
//! that answers that must not differ (a wrong code and a wrong date of
//! birth) share their key and so their bytes.

use hippo_core::retrieval::RetrievalRefusal;

pub fn refusal(refusal: RetrievalRefusal) -> &'static str {
    match refusal {
        RetrievalRefusal::NotRecognised => "retrieval-refused-not-recognised",
        RetrievalRefusal::Expired => "retrieval-refused-expired",
        RetrievalRefusal::Revoked => "retrieval-refused-revoked",
        RetrievalRefusal::Withdrawn => "retrieval-refused-withdrawn",
        RetrievalRefusal::Locked => "retrieval-refused-locked",
    }
}

pub const TYPO: &str = "retrieval-typo";
pub const MALFORMED_CODE: &str = "retrieval-malformed-code";
pub const MALFORMED_BIRTH_DATE: &str = "retrieval-malformed-birth-date";
pub const RATE_LIMITED: &str = "retrieval-rate-limited";
pub const FORM_EXPIRED: &str = "retrieval-form-expired";
pub const UNAVAILABLE: &str = "retrieval-unavailable";

// The printed sheet.
pub const SHEET_TITLE: &str = "retrieval-sheet-title";
pub const SHEET_WHERE: &str = "retrieval-sheet-where";
pub const SHEET_HOW: &str = "retrieval-sheet-how";
pub const SHEET_VALID_UNTIL: &str = "retrieval-sheet-valid-until";
/// With `$attempts`, the configured wrong tries before the code locks.
pub const SHEET_KEEP_SAFE: &str = "retrieval-sheet-keep-safe";
