//! German and English for every page, e-mail and notice.
//!
//! Texts live in Fluent files (`locales/<lang>/<area>.ftl`), one file per
//! area of the UI so that each area's texts are reviewed together. The
//! language comes from the `hippo_lang` cookie (the switch in the page
//! footer), else from the browser's `Accept-Language`, else English.
//! `catalog` holds the texts, `format` dates and numbers, `ui` what a page
//! template gets.

mod catalog;
pub mod format;
mod negotiate;
mod ui;
pub mod zone;

pub use catalog::{AREAS, text, text_with};
pub use negotiate::{LANG_COOKIE, Lang, with_language};
pub use ui::Ui;

#[cfg(test)]
mod tests;
