//! Timestamps are stored as Unix milliseconds (UTC): compact, indexable and the
//! same on every database backend.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Milliseconds since the Unix epoch, UTC.
pub type UnixMillis = i64;

pub fn now_millis() -> UnixMillis {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// RFC 3339 rendering for APIs and pages; falls back to the raw number if the
/// value is out of range rather than failing a response.
pub fn rfc3339(ms: UnixMillis) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// Parse an RFC 3339 time (e.g. `2026-11-23T13:00:00Z`) to Unix millis.
pub fn parse_rfc3339(text: &str) -> Option<UnixMillis> {
    OffsetDateTime::parse(text.trim(), &Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// `YYYY-MM-DD HH:MM` (UTC) for people.
pub fn human(ms: UnixMillis) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_epoch() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(human(86_400_000), "1970-01-02 00:00 UTC");
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
