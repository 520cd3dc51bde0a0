//! Dates in the facility's time zone and numbers in the reader's locale.

use hippo_core::time_util::UnixMillis;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::Lang;

/// The time zone pages use unless a facility sets its own.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Berlin";

/// A time zone by IANA name; the default one for an unknown name.
pub fn time_zone(name: &str) -> TimeZone {
    TimeZone::get(name)
        .or_else(|_| TimeZone::get(DEFAULT_TIME_ZONE))
        .unwrap_or(TimeZone::UTC)
}

fn zoned(ms: UnixMillis, tz: &TimeZone) -> Option<jiff::Zoned> {
    Timestamp::from_millisecond(ms)
        .ok()
        .map(|t| t.to_zoned(tz.clone()))
}

/// `02.12.2026` (German) or `2 Dec 2026` (English).
pub fn date(ms: UnixMillis, tz: &TimeZone, lang: Lang) -> String {
    let Some(z) = zoned(ms, tz) else {
        return String::new();
    };
    match lang {
        Lang::De => z.strftime("%d.%m.%Y").to_string(),
        Lang::En => z.strftime("%-d %b %Y").to_string(),
    }
}

/// `02.12.2026, 14:05` (German) or `2 Dec 2026, 14:05` (English), in the
/// given zone; the zone's abbreviation follows (MEZ/MESZ read as CET/CEST).
pub fn date_time(ms: UnixMillis, tz: &TimeZone, lang: Lang) -> String {
    let Some(z) = zoned(ms, tz) else {
        return String::new();
    };
    match lang {
        Lang::De => z.strftime("%d.%m.%Y, %H:%M %Z").to_string(),
        Lang::En => z.strftime("%-d %b %Y, %H:%M %Z").to_string(),
    }
}

/// A decimal number as written in the reader's language: German uses the
/// decimal comma (`5,4`), English the point. Only a point between two
/// digits is a decimal point; anything else (`<0.5` keeps its sign, text
/// results stay as they are) passes through.
pub fn decimal(text: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return text.to_owned();
    }
    let chars: Vec<char> = text.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let between_digits = i > 0
                && chars[i - 1].is_ascii_digit()
                && chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if c == '.' && between_digits { ',' } else { c }
        })
        .collect()
}

/// A float with up to `max_decimals` decimals, trailing zeros dropped, in
/// the reader's language.
pub fn number(value: f64, max_decimals: usize, lang: Lang) -> String {
    let fixed = format!("{value:.max_decimals$}");
    let trimmed = if fixed.contains('.') {
        fixed.trim_end_matches('0').trim_end_matches('.')
    } else {
        fixed.as_str()
    };
    decimal(trimmed, lang)
}
