//! The time zone a request's pages show dates in (issue 12 point 6).
//! The language middleware opens an empty slot per request; once the
//! session is known (`Authorized`), the viewer's zone goes in: staff see
//! their facility's zone, operators UTC, patients the zone of their one
//! facility (several facilities: the default), and a page of one finding
//! the zone of the finding's facility. `Ui` reads the slot when it formats,
//! so it does not matter which extractor ran first.

use std::cell::RefCell;

use jiff::tz::TimeZone;

use super::format::{self, DEFAULT_TIME_ZONE};

tokio::task_local! {
    static REQUEST_ZONE: RefCell<Option<TimeZone>>;
}

/// Run `future` with an empty zone slot (the default zone until set).
pub async fn with_zone_slot<F: std::future::Future>(future: F) -> F::Output {
    REQUEST_ZONE.scope(RefCell::new(None), future).await
}

/// Dates of this request from now on are shown in `zone`.
pub fn show_dates_in(zone: TimeZone) {
    let _ = REQUEST_ZONE.try_with(|slot| *slot.borrow_mut() = Some(zone));
}

/// The zone set for this request, or the default one.
pub fn current_zone() -> TimeZone {
    REQUEST_ZONE
        .try_with(|slot| slot.borrow().clone())
        .ok()
        .flatten()
        .unwrap_or_else(|| format::time_zone(DEFAULT_TIME_ZONE))
}

/// Whether `name` is an IANA zone name known to jiff's database; what a
/// facility may set. The empty string and "local" zones are not.
pub fn is_known_zone(name: &str) -> bool {
    let name = name.trim();
    !name.is_empty() && name.len() <= 64 && TimeZone::get(name).is_ok()
}

/// The zones offered in the settings page's select: the ones a German or
/// European practice and its neighbours would use, plus UTC.
pub const COMMON_ZONES: &[&str] = &[
    "Europe/Berlin",
    "Europe/Vienna",
    "Europe/Zurich",
    "Europe/Amsterdam",
    "Europe/Brussels",
    "Europe/Luxembourg",
    "Europe/Paris",
    "Europe/Copenhagen",
    "Europe/Prague",
    "Europe/Warsaw",
    "Europe/Rome",
    "Europe/Madrid",
    "Europe/Lisbon",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Stockholm",
    "Europe/Helsinki",
    "Europe/Athens",
    "Europe/Istanbul",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "UTC",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offered_zone_is_known_and_nonsense_is_not() {
        for zone in COMMON_ZONES {
            assert!(is_known_zone(zone), "{zone}");
        }
        for bad in ["", "Mars/Olympus", "Europe/Berlin; DROP", "../etc/passwd"] {
            assert!(!is_known_zone(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_zone_set_in_the_request_is_the_one_dates_use() {
        with_zone_slot(async {
            assert_eq!(current_zone().iana_name(), Some("Europe/Berlin"));
            show_dates_in(format::time_zone("America/New_York"));
            assert_eq!(current_zone().iana_name(), Some("America/New_York"));
        })
        .await;
    }
}
