//! HL7 escape sequences (v2.5 §2.7): `\F\ \S\ \T\ \R\ \E\` for the
//! delimiters, `\Xhh…\` for bytes in the message's character set, `\.br\`
//! for a line break. Formatting (`\H\ \N\ \.sp\ …`) and character-set
//! switches (`\C…\ \M…\`) carry no text and are dropped.

use hl7_parser::message::Separators;

use crate::charset::Charset;

/// The standard delimiters `|^~\&`, as Hippo's own messages use them.
pub fn default_separators() -> Separators {
    Separators::default()
}

/// A field value's text with its escape sequences decoded.
pub fn unescape(raw: &str, separators: &Separators, charset: Charset) -> Result<String, String> {
    let escape = separators.escape;
    if !raw.contains(escape) {
        return Ok(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find(escape) {
        out.push_str(&rest[..start]);
        let after = &rest[start + escape.len_utf8()..];
        let Some(end) = after.find(escape) else {
            // An escape character without its closing one is taken literally.
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let sequence = &after[..end];
        match sequence {
            "F" => out.push(separators.field),
            "S" => out.push(separators.component),
            "T" => out.push(separators.subcomponent),
            "R" => out.push(separators.repetition),
            "E" => out.push(escape),
            ".br" => out.push('\n'),
            hex if hex.starts_with('X') => out.push_str(&hex_text(&hex[1..], charset)?),
            _ => {}
        }
        rest = &after[end + escape.len_utf8()..];
    }
    out.push_str(rest);
    Ok(out)
}

fn hex_text(hex: &str, charset: Charset) -> Result<String, String> {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "escape sequence \\X{}\\ is not hexadecimal",
            hex.chars().take(20).collect::<String>()
        ));
    }
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect();
    charset.decode(&bytes, "escape sequence \\X..\\")
}

/// Text made safe for a field of an outgoing message: delimiters escaped,
/// line breaks as `\.br\`, other control characters dropped.
pub fn escape(text: &str, separators: &Separators) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let code = if c == separators.escape {
            "E"
        } else if c == separators.field {
            "F"
        } else if c == separators.component {
            "S"
        } else if c == separators.subcomponent {
            "T"
        } else if c == separators.repetition {
            "R"
        } else if c == '\n' {
            ".br"
        } else if c.is_control() {
            continue;
        } else {
            out.push(c);
            continue;
        };
        out.push(separators.escape);
        out.push_str(code);
        out.push(separators.escape);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_standard_sequences() {
        let s = Separators::default();
        let decode = |raw| unescape(raw, &s, Charset::Latin1).unwrap();
        assert_eq!(decode(r"a\F\b\S\c\T\d\R\e\E\f"), "a|b^c&d~e\\f");
        assert_eq!(decode(r"Zeile 1\.br\Zeile 2"), "Zeile 1\nZeile 2");
        assert_eq!(decode(r"M\XFC\ller"), "Müller");
        assert_eq!(decode(r"\H\wichtig\N\"), "wichtig");
        assert_eq!(decode(r"offen\F"), "offen\\F");
        assert_eq!(
            unescape(r"M\XC3BC\ller", &s, Charset::Utf8).unwrap(),
            "Müller"
        );
        assert!(unescape(r"\XZZ\", &s, Charset::Latin1).is_err());
        assert!(unescape(r"\XFC\", &s, Charset::Ascii).is_err());
    }

    #[test]
    fn escaping_round_trips() {
        let s = Separators::default();
        let text = "a|b^c&d~e\\f\nnext";
        let escaped = escape(text, &s);
        assert!(!escaped.contains('|') && !escaped.contains('\n'));
        assert_eq!(unescape(&escaped, &s, Charset::Ascii).unwrap(), text);
    }
}
