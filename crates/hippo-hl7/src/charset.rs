//! MSH-18: the character set a message's bytes are written in. It is read
//! from the raw bytes (every HL7 delimiter is ASCII) before the text is
//! decoded and parsed.

/// The character sets Hippo accepts (HL7 table 0211).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// Empty MSH-18 or `ASCII`: 7-bit only.
    Ascii,
    /// `8859/1`: Latin-1, one byte per character.
    Latin1,
    /// `UNICODE UTF-8`.
    Utf8,
}

impl Charset {
    /// The table 0211 value, as an ACK repeats it.
    pub fn as_hl7(self) -> &'static str {
        match self {
            Self::Ascii => "ASCII",
            Self::Latin1 => "8859/1",
            Self::Utf8 => "UNICODE UTF-8",
        }
    }

    fn parse(value: &str) -> Result<Self, String> {
        match value.trim() {
            "" | "ASCII" => Ok(Self::Ascii),
            "8859/1" => Ok(Self::Latin1),
            "UNICODE UTF-8" => Ok(Self::Utf8),
            other => Err(format!(
                "MSH-18: character set {:?} is not supported (ASCII, 8859/1 or UNICODE UTF-8)",
                other.chars().take(40).collect::<String>()
            )),
        }
    }

    /// Bytes in this character set as text; `what` names them in errors.
    pub fn decode(self, bytes: &[u8], what: &str) -> Result<String, String> {
        match self {
            Self::Ascii => match bytes.iter().position(|b| !b.is_ascii()) {
                None => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
                Some(at) => Err(format!(
                    "{what}: byte 0x{:02X} at offset {at} is not ASCII; declare the character set in MSH-18 (8859/1 or UNICODE UTF-8)",
                    bytes[at]
                )),
            },
            Self::Latin1 => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
            Self::Utf8 => String::from_utf8(bytes.to_vec()).map_err(|e| {
                format!(
                    "{what}: invalid UTF-8 at offset {} although MSH-18 says UNICODE UTF-8",
                    e.utf8_error().valid_up_to()
                )
            }),
        }
    }
}

/// A message's text and the character set it was decoded from. A UTF-8
/// byte order mark is dropped.
pub fn decode_message(bytes: &[u8]) -> Result<(String, Charset), String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let charset = declared_charset(bytes)?;
    Ok((charset.decode(bytes, "message")?, charset))
}

/// MSH-18 read from the first segment's bytes; its first repetition is
/// the message's default character set.
fn declared_charset(bytes: &[u8]) -> Result<Charset, String> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let bytes = &bytes[start..];
    if !bytes.starts_with(b"MSH") || bytes.len() < 8 {
        return Err("the message does not start with an MSH segment".into());
    }
    let field = bytes[3];
    let repetition = bytes[5];
    let end = bytes
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(bytes.len());
    // Split MSH on the field separator: piece 0 is "MSH", piece n is
    // MSH-(n+1), because MSH-1 is the separator itself.
    let Some(msh18) = bytes[..end].split(|&b| b == field).nth(17) else {
        return Ok(Charset::Ascii);
    };
    let first = msh18.split(|&b| b == repetition).next().unwrap_or_default();
    let text = String::from_utf8_lossy(first);
    Charset::parse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msh(charset: &str) -> Vec<u8> {
        format!("MSH|^~\\&|LAB|L|HIPPO|H|20261201||ORU^R01|1|P|2.5.1||||||{charset}\rPID|")
            .into_bytes()
    }

    #[test]
    fn reads_the_declared_character_set() {
        assert_eq!(decode_message(&msh("")).unwrap().1, Charset::Ascii);
        assert_eq!(decode_message(&msh("8859/1")).unwrap().1, Charset::Latin1);
        assert_eq!(
            decode_message(&msh("UNICODE UTF-8")).unwrap().1,
            Charset::Utf8
        );
        let e = decode_message(&msh("ISO IR87")).unwrap_err();
        assert!(e.contains("MSH-18"), "{e}");
        let short = b"MSH|^~\\&|LAB|L|HIPPO|H|20261201||ORU^R01|1|P|2.5.1";
        assert_eq!(decode_message(short).unwrap().1, Charset::Ascii);
    }

    #[test]
    fn decodes_umlauts_per_charset() {
        let mut latin = msh("8859/1");
        latin.extend_from_slice(b"M\xFCller");
        assert!(decode_message(&latin).unwrap().0.ends_with("Müller"));
        let mut utf8 = msh("UNICODE UTF-8");
        utf8.extend_from_slice("Müller".as_bytes());
        assert!(decode_message(&utf8).unwrap().0.ends_with("Müller"));
        let mut ascii = msh("");
        ascii.extend_from_slice(b"M\xFCller");
        assert!(decode_message(&ascii).unwrap_err().contains("not ASCII"));
        let mut bad = msh("UNICODE UTF-8");
        bad.extend_from_slice(b"M\xFCller");
        assert!(decode_message(&bad).unwrap_err().contains("UTF-8"));
        assert!(decode_message(b"PID|1").is_err());
        assert!(decode_message(b"").is_err());
    }
}
