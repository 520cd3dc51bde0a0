//! Messaging between a facility and one of its patients: thread status and
//! its rules, the two sides of a conversation, and validated subjects,
//! bodies and attachment names. No I/O; the file type of an attachment is
//! decided by its bytes elsewhere (`file_kind`).

use crate::DomainError;

/// A thread's life cycle. Staff may close a thread (it stays readable) or
/// retract one sent by mistake (the patient no longer sees it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThreadStatus {
    Open,
    Closed,
    Retracted,
}

impl ThreadStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Retracted => "retracted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            "retracted" => Some(Self::Retracted),
            _ => None,
        }
    }

    fn refuses(self, refuses: &'static str) -> DomainError {
        DomainError::ThreadRefuses {
            status: self.as_str(),
            refuses,
        }
    }

    /// Only an open thread takes new messages.
    pub fn accept_message(self) -> Result<(), DomainError> {
        match self {
            Self::Open => Ok(()),
            _ => Err(self.refuses("takes no new messages")),
        }
    }

    pub fn close(self) -> Result<Self, DomainError> {
        match self {
            Self::Open => Ok(Self::Closed),
            _ => Err(self.refuses("cannot be closed")),
        }
    }

    /// Open and closed threads can be retracted, once.
    pub fn retract(self) -> Result<Self, DomainError> {
        match self {
            Self::Open | Self::Closed => Ok(Self::Retracted),
            Self::Retracted => Err(self.refuses("cannot be retracted again")),
        }
    }

    /// Assignment is housekeeping of live threads only.
    pub fn assign(self) -> Result<Self, DomainError> {
        match self {
            Self::Open | Self::Closed => Ok(self),
            Self::Retracted => Err(self.refuses("cannot be assigned")),
        }
    }
}

/// Who wrote a message, and whose read state a reading changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Staff,
    Patient,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::Patient => "patient",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "staff" => Some(Self::Staff),
            "patient" => Some(Self::Patient),
            _ => None,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Staff => Self::Patient,
            Self::Patient => Self::Staff,
        }
    }
}

/// Limits on what one message may carry (configurable in the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLimits {
    pub max_body_chars: usize,
    pub max_attachments: usize,
    pub max_attachment_bytes: usize,
}

impl Default for MessageLimits {
    fn default() -> Self {
        Self {
            max_body_chars: 20_000,
            max_attachments: 4,
            max_attachment_bytes: 10 * 1024 * 1024,
        }
    }
}

pub const MAX_SUBJECT_CHARS: usize = 200;

fn text(field: &str, raw: &str, max: usize) -> Result<String, DomainError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    let chars = trimmed.chars().count();
    if chars > max {
        return Err(DomainError::invalid(
            field,
            format!("is {chars} characters long; at most {max} are allowed"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(DomainError::invalid(field, "contains control characters"));
    }
    Ok(trimmed.to_owned())
}

/// A thread's subject: one line, not empty, at most 200 characters.
pub fn parse_subject(raw: &str) -> Result<String, DomainError> {
    let subject = text("subject", raw, MAX_SUBJECT_CHARS)?;
    if subject.contains(['\n', '\r']) {
        return Err(DomainError::invalid("subject", "must be a single line"));
    }
    Ok(subject)
}

/// A message body: not empty (after trimming), at most `limits.max_body_chars`.
pub fn parse_body(raw: &str, limits: &MessageLimits) -> Result<String, DomainError> {
    text("body", raw, limits.max_body_chars)
}

/// The file name an attachment is downloaded under: the client's name
/// reduced to letters, digits, `-`, `_` and `.` (no path, no quotes, no
/// header tricks), at most 80 characters, with the extension of the
/// classified kind, never the client's.
pub fn download_name(client_name: Option<&str>, extension: &str) -> String {
    let base = client_name
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
    let mut clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let clean_trimmed = clean.trim_matches('_');
    if clean_trimmed.is_empty() {
        clean = "attachment".into();
    } else {
        clean = clean_trimmed.to_owned();
    }
    format!("{clean}.{extension}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_open_threads_take_messages() {
        assert!(ThreadStatus::Open.accept_message().is_ok());
        let closed = ThreadStatus::Closed.accept_message().unwrap_err();
        assert_eq!(closed.to_string(), "a closed thread takes no new messages");
        assert!(ThreadStatus::Retracted.accept_message().is_err());
        assert_eq!(ThreadStatus::Open.close(), Ok(ThreadStatus::Closed));
        assert!(ThreadStatus::Closed.close().is_err());
        assert_eq!(ThreadStatus::Closed.retract(), Ok(ThreadStatus::Retracted));
        assert!(ThreadStatus::Retracted.retract().is_err());
        assert!(ThreadStatus::Retracted.assign().is_err());
    }

    #[test]
    fn bodies_and_subjects_are_checked() {
        let limits = MessageLimits::default();
        assert!(parse_body("   ", &limits).is_err());
        assert!(parse_body(&"x".repeat(20_001), &limits).is_err());
        assert_eq!(parse_body(" Hallo\n ", &limits).unwrap(), "Hallo");
        assert!(parse_body("a\u{0}b", &limits).is_err());
        assert!(parse_subject("two\nlines").is_err());
        assert!(parse_subject(&"s".repeat(201)).is_err());
    }

    #[test]
    fn download_names_are_sanitised() {
        assert_eq!(download_name(Some("../../etc/passwd"), "pdf"), "passwd.pdf");
        assert_eq!(
            download_name(Some("Befund \"x\";.html"), "pdf"),
            "Befund__x.pdf"
        );
        assert_eq!(download_name(Some("C:\\a\\scan.exe"), "png"), "scan.png");
        assert_eq!(download_name(None, "jpg"), "attachment.jpg");
        assert_eq!(download_name(Some("..."), "pdf"), "attachment.pdf");
    }
}
