//! The acknowledgement: MSH + MSA (+ ERR on a refusal), in the request's
//! version, with the reason escaped. Hippo's own MSH uses the standard
//! delimiters `|^~\&` and UTF-8, whatever the request used.

use hl7_parser::message::Separators;

use crate::escape::escape;
use crate::oru::{Header, Location, VERSIONS};

/// MSA-1 (original acknowledgement mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// AA: accepted and stored.
    Accept,
    /// AE: the message was read but its content is refused (an unmatched
    /// patient, an invalid value); resending it unchanged will not help.
    Error,
    /// AR: refused as a whole (not ORU^R01, unsupported version or
    /// character set, unreadable, bad key, too large, busy).
    Reject,
}

impl AckCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "AA",
            Self::Error => "AE",
            Self::Reject => "AR",
        }
    }
}

/// HL7 table 0357 codes for the ERR segment.
fn error_code(code: AckCode, location: Option<&Location>) -> (&'static str, &'static str) {
    match (code, location) {
        (AckCode::Reject, Some(l)) if l.field == 9 => ("200", "Unsupported message type"),
        (AckCode::Reject, Some(l)) if l.field == 12 => ("203", "Unsupported version id"),
        (AckCode::Reject, _) => ("207", "Application internal error"),
        (_, Some(_)) => ("102", "Data type error"),
        _ => ("207", "Application internal error"),
    }
}

/// One ACK for `request` (or a generic header when the request could not
/// be read). `now` is `YYYYMMDDHHMMSS`; `ack_id` becomes MSH-10.
pub fn build_ack(
    request: Option<&Header>,
    code: AckCode,
    text: &str,
    location: Option<&Location>,
    now: &str,
    ack_id: &str,
) -> String {
    let s = Separators::default();
    let e = |t: &str| escape(t, &s);
    // MSH-12 is written unescaped, so only a version Hippo reads is
    // echoed; anything else (a header refused before its version was
    // checked) gets the newest one. A raw MSH-12 could carry a segment
    // break and forge a second MSA.
    let version = request
        .map(|h| h.version.as_str())
        .filter(|v| VERSIONS.contains(v))
        .unwrap_or("2.5.1");
    let control_id = request.map_or("", |h| h.control_id.as_str());
    let (send_app, send_fac, recv_app, recv_fac, processing) = match request {
        Some(h) => (
            e(&h.receiving_application),
            e(&h.receiving_facility),
            e(&h.sending_application),
            e(&h.sending_facility),
            e(&h.processing_id),
        ),
        None => (
            "HIPPO".into(),
            String::new(),
            String::new(),
            String::new(),
            "P".into(),
        ),
    };
    let send_app = if send_app.is_empty() {
        "HIPPO".into()
    } else {
        send_app
    };
    let processing = if processing.is_empty() {
        "P".into()
    } else {
        processing
    };
    // ACK's message structure (MSH-9.3) exists from 2.3.1 on.
    let message_type = if version == "2.3" {
        "ACK"
    } else {
        "ACK^R01^ACK"
    };
    let charset = if version == "2.3" {
        ""
    } else {
        "UNICODE UTF-8"
    };
    let mut ack = format!(
        "MSH|^~\\&|{send_app}|{send_fac}|{recv_app}|{recv_fac}|{now}||{message_type}|{}|{processing}|{version}||||||{charset}\r",
        e(ack_id),
    );
    let text: String = text.chars().take(400).collect();
    ack.push_str(&format!(
        "MSA|{}|{}|{}\r",
        code.as_str(),
        e(control_id),
        e(&text)
    ));
    if code != AckCode::Accept {
        let (number, meaning) = error_code(code, location);
        let place = location.map_or(String::new(), |l| {
            format!("{}^{}^{}", l.segment, l.sequence, l.field)
        });
        // 2.5 moved the location to ERR-2 and added severity and a
        // user message; before, ERR-1 held location and code together.
        if matches!(version, "2.5" | "2.5.1") {
            ack.push_str(&format!(
                "ERR||{place}|{number}^{meaning}^HL70357|E||||{}\r",
                e(&text)
            ));
        } else {
            let place = location.map_or("^^".to_owned(), |l| {
                format!("{}^{}^{}", l.segment, l.sequence, l.field)
            });
            ack.push_str(&format!("ERR|{place}^{number}&{meaning}&HL70357\r"));
        }
    }
    ack
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charset::Charset;

    fn header(version: &str) -> Header {
        Header {
            control_id: "MSG|1".into(),
            version: version.into(),
            sending_application: "LIS".into(),
            sending_facility: "Labor Nord".into(),
            receiving_application: "HIPPO".into(),
            receiving_facility: "Praxis".into(),
            processing_id: "P".into(),
            security: None,
            charset: Charset::Ascii,
        }
    }

    #[test]
    fn acks_echo_the_control_id_in_the_request_version() {
        let ack = build_ack(
            Some(&header("2.3")),
            AckCode::Accept,
            "ok",
            None,
            "20261201120000",
            "A1",
        );
        let segments: Vec<&str> = ack.split('\r').collect();
        assert!(
            segments[0]
                .starts_with("MSH|^~\\&|HIPPO|Praxis|LIS|Labor Nord|20261201120000||ACK|A1|P|2.3")
        );
        assert_eq!(segments[1], "MSA|AA|MSG\\F\\1|ok");
        assert!(!ack.contains("ERR"));
    }

    #[test]
    fn nacks_carry_an_err_segment() {
        let location = Location {
            segment: "PID",
            sequence: 1,
            field: 7,
        };
        let ack = build_ack(
            Some(&header("2.5.1")),
            AckCode::Error,
            "PID-7: bad^date",
            Some(&location),
            "20261201120000",
            "A2",
        );
        assert!(
            ack.contains("MSA|AE|MSG\\F\\1|PID-7: bad\\S\\date\r"),
            "{ack}"
        );
        assert!(
            ack.contains("ERR||PID^1^7|102^Data type error^HL70357|E||||PID-7: bad\\S\\date\r"),
            "{ack}"
        );
        let old = build_ack(
            Some(&header("2.4")),
            AckCode::Error,
            "x",
            Some(&location),
            "20261201120000",
            "A3",
        );
        assert!(
            old.contains("ERR|PID^1^7^102&Data type error&HL70357\r"),
            "{old}"
        );
        let anonymous = build_ack(
            None,
            AckCode::Reject,
            "not HL7",
            None,
            "20261201120000",
            "A4",
        );
        assert!(anonymous.contains("MSA|AR||not HL7\r"), "{anonymous}");
    }

    /// Found by the fuzz target in CI: a header refused for its control ID
    /// carried an unchecked MSH-12 with a segment break into the ACK.
    #[test]
    fn an_unread_version_is_never_echoed() {
        let ack = build_ack(
            Some(&header("\u{1c}\0\r0\u{7}{MSH|MSA|AA")),
            AckCode::Reject,
            "bad",
            None,
            "20261201120000",
            "A5",
        );
        let segments: Vec<&str> = ack.split('\r').filter(|s| !s.is_empty()).collect();
        assert_eq!(segments.len(), 3, "{ack:?}");
        assert!(
            segments[0].ends_with("|A5|P|2.5.1||||||UNICODE UTF-8"),
            "{ack:?}"
        );
        assert!(segments[1].starts_with("MSA|AR|"), "{ack:?}");
        assert!(segments[2].starts_with("ERR|"), "{ack:?}");
    }
}
