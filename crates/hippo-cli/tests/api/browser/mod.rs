//! End-to-end tests in Debian's headless Chromium (issue 12 point 9): the
//! real server on a random port with the demo world, chromedriver on
//! another, one fresh browser per test, driven like a person would (login
//! form, links, forms), with axe-core on every main page and screenshots
//! under `target/browser-screenshots/`. The module's name is the marker
//! (`browser::`): `cargo nextest run` leaves it out by default, and
//! `scripts/test` runs it when chromium, chromedriver and axe-core are
//! there (with `CI=true` their absence is an error).

mod axe;
mod driver;
mod page;

mod accounts;
mod attacker;
mod clinician;
// Issue 12: upload errors and the access log of one patient (facility helper).
mod facility;
mod languages;
mod maintenance;
mod messaging;
mod patient;
mod retrieval;

pub use driver::{Browser, BrowserLanguage};
pub use page::catalog_text;
