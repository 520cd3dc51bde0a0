//! The page that shows a new set of recovery codes, once: after an
//! enrolment (login or account page) and after a renewal. Printing needs
//! no script: the browser's print (with a print stylesheet) or the text
//! file behind a plain download link.

use askama::Template;
use axum::response::Response;

use crate::error::WebError;
use crate::i18n::Ui;
use crate::web::render::{Nav, page};

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage {
    ui: Ui,
    nav: Option<Nav>,
    codes: Vec<String>,
    /// The codes as a `data:` URL of a text file, for the download link.
    download_href: String,
}

pub fn recovery_codes_page(nav: Option<Nav>, codes: Vec<String>) -> Result<Response, WebError> {
    // Hex and dashes only: nothing to escape but the line breaks.
    let download_href = format!("data:text/plain;charset=utf-8,{}", codes.join("%0A"));
    page(&RecoveryCodesPage {
        ui: Ui::current(),
        nav,
        codes,
        download_href,
    })
}
