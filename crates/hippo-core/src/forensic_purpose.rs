//! Purpose binding for forensic queries: every look into the audit log
//! names the incident or the reason it serves, and that purpose is kept in
//! the query's own audit record (GDPR Art. 5(1)(b): data used only for a
//! stated purpose; the operator's curiosity is not one).

use std::fmt;

use crate::DomainError;

/// A reason must say something: "test" or "check" does not.
pub const MIN_REASON_CHARS: usize = 10;
pub const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForensicPurpose {
    /// An incident's ID (`hippo incident open`, or opened from an alert).
    Incident(uuid::Uuid),
    /// A free-text reason, e.g. a ticket and what is being checked.
    Reason(String),
}

/// What the caller is told when the purpose is missing or too thin.
pub const PURPOSE_REQUIRED: &str = "purpose: a forensic query must name the incident it serves \
     (incident=<incident ID>) or a reason of at least 10 characters (reason=...)";

impl ForensicPurpose {
    /// From the two optional inputs; exactly one must be given. Blank
    /// values count as absent so an empty form field does not pass.
    pub fn parse(incident: Option<&str>, reason: Option<&str>) -> Result<Self, DomainError> {
        let incident = incident.map(str::trim).filter(|s| !s.is_empty());
        let reason = reason.map(str::trim).filter(|s| !s.is_empty());
        match (incident, reason) {
            (Some(_), Some(_)) => Err(DomainError::invalid(
                "purpose",
                "name either the incident or a reason, not both",
            )),
            (Some(id), None) => uuid::Uuid::parse_str(id)
                .map(Self::Incident)
                .map_err(|_| DomainError::invalid("incident", "not an incident ID")),
            (None, Some(text)) => {
                let chars = text.chars().count();
                if chars < MIN_REASON_CHARS {
                    return Err(DomainError::invalid(
                        "reason",
                        format!("at least {MIN_REASON_CHARS} characters"),
                    ));
                }
                if chars > MAX_REASON_CHARS {
                    return Err(DomainError::invalid(
                        "reason",
                        format!("at most {MAX_REASON_CHARS} characters"),
                    ));
                }
                if text.chars().any(char::is_control) {
                    return Err(DomainError::invalid("reason", "no control characters"));
                }
                Ok(Self::Reason(text.to_owned()))
            }
            (None, None) => Err(DomainError::invalid("purpose", "required")),
        }
    }

    pub fn incident(&self) -> Option<uuid::Uuid> {
        match self {
            Self::Incident(id) => Some(*id),
            Self::Reason(_) => None,
        }
    }
}

/// The form kept in the audit record's detail: `incident=<id>` or
/// `reason="<text>"` (quoted with escapes, so a reason cannot forge
/// further fields of the detail).
impl fmt::Display for ForensicPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Incident(id) => write!(f, "incident={id}"),
            Self::Reason(text) => write!(f, "reason={text:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_without_purpose_is_refused() {
        assert!(ForensicPurpose::parse(None, None).is_err());
        assert!(ForensicPurpose::parse(Some("  "), Some("")).is_err());
    }

    #[test]
    fn a_reason_must_say_something() {
        assert!(ForensicPurpose::parse(None, Some("check")).is_err());
        assert!(ForensicPurpose::parse(None, Some(&"x".repeat(501))).is_err());
        assert!(ForensicPurpose::parse(None, Some("ticket 4711\nforged=1")).is_err());
        let ok = ForensicPurpose::parse(None, Some(" ticket 4711: probing alert ")).unwrap();
        assert_eq!(ok.to_string(), "reason=\"ticket 4711: probing alert\"");
    }

    #[test]
    fn an_incident_is_named_by_its_id() {
        let id = uuid::Uuid::new_v4();
        let ok = ForensicPurpose::parse(Some(&id.to_string()), None).unwrap();
        assert_eq!(ok, ForensicPurpose::Incident(id));
        assert_eq!(ok.to_string(), format!("incident={id}"));
        assert!(ForensicPurpose::parse(Some("42"), None).is_err());
        assert!(ForensicPurpose::parse(Some(&id.to_string()), Some("some reason here")).is_err());
    }

    #[test]
    fn a_quote_in_the_reason_cannot_end_the_field() {
        let p = ForensicPurpose::parse(None, Some("x\" actor=\"someone else")).unwrap();
        assert_eq!(p.to_string(), r#"reason="x\" actor=\"someone else""#);
    }
}
