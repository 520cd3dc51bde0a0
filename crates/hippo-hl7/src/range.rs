//! OBX-7 reference ranges as labs write them: `3.5-5.0`, `<5`, `>1`,
//! `<=5`, `>= 1`, German decimal commas (`3,5-5,0`), negative bounds
//! (`-2.0-2.0`). What does not read as a range is left out: the flag
//! then comes from OBX-8, and the text stays in the report.

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Range {
    pub low: Option<f64>,
    pub high: Option<f64>,
}

pub fn number(text: &str) -> Option<f64> {
    let text = text.trim().replace(',', ".");
    if text.is_empty() || text.contains(|c: char| c.is_alphabetic()) {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

pub fn parse(text: &str) -> Option<Range> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    for (prefix, is_upper) in [("<=", true), ("<", true), (">=", false), (">", false)] {
        if let Some(bound) = text.strip_prefix(prefix) {
            let value = number(bound)?;
            return Some(if is_upper {
                Range {
                    low: None,
                    high: Some(value),
                }
            } else {
                Range {
                    low: Some(value),
                    high: None,
                }
            });
        }
    }
    // The separating '-' is the first one after the first character (a
    // leading '-' is the low bound's sign).
    let split = text
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '-')
        .map(|(i, _)| i)?;
    let low = number(&text[..split])?;
    let high = number(&text[split + 1..])?;
    (low <= high).then_some(Range {
        low: Some(low),
        high: Some(high),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(low: Option<f64>, high: Option<f64>) -> Option<Range> {
        Some(Range { low, high })
    }

    #[test]
    fn reads_the_usual_forms() {
        assert_eq!(parse("3.5-5.0"), r(Some(3.5), Some(5.0)));
        assert_eq!(parse("3,5 - 5,0"), r(Some(3.5), Some(5.0)));
        assert_eq!(parse("-2-2"), r(Some(-2.0), Some(2.0)));
        assert_eq!(parse("<5"), r(None, Some(5.0)));
        assert_eq!(parse("<= 5"), r(None, Some(5.0)));
        assert_eq!(parse(">1"), r(Some(1.0), None));
        assert_eq!(parse("negativ"), None);
        assert_eq!(parse("5-3"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("1-"), None);
        assert_eq!(number("inf"), None);
        assert_eq!(number("NaN"), None);
    }
}
