//! The upload form's value rows (analyte, LOINC code, value, unit,
//! reference range, flag) as typed, and their validation into observations
//! with one localized message per faulty field, so the form can be shown
//! again with the input kept. Empty rows are ignored. The domain's own
//! parse (`Observation::parse`) still runs on the result as the last fence.

use std::collections::BTreeMap;

use hippo_core::finding::{ObservationInput, ObservationValue};

use crate::i18n::Lang;
use crate::loinc;

/// Rows the form offers at first, and how many "add rows" adds.
pub const ROW_STEP: usize = 8;
/// No form grows beyond this (the upload parser refuses higher indices).
pub const MAX_ROWS: usize = 100;

/// The inputs of one row, named `row-<n>-<field>` in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RowField {
    Analyte,
    Code,
    Value,
    Unit,
    Low,
    High,
    Flag,
}

impl RowField {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "analyte" => Self::Analyte,
            "code" => Self::Code,
            "value" => Self::Value,
            "unit" => Self::Unit,
            "low" => Self::Low,
            "high" => Self::High,
            "flag" => Self::Flag,
            _ => return None,
        })
    }

    /// `row-3-value` → (3, Value); anything else is not a row input.
    pub fn of_part(name: &str) -> Option<(usize, Self)> {
        let rest = name.strip_prefix("row-")?;
        let (index, field) = rest.split_once('-')?;
        if index.is_empty() || index.len() > 3 || !index.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        Some((index.parse().ok()?, Self::parse(field)?))
    }
}

/// One row exactly as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypedRow {
    pub analyte: String,
    pub code: String,
    pub value: String,
    pub unit: String,
    pub low: String,
    pub high: String,
    pub flag: String,
}

impl TypedRow {
    pub fn set(&mut self, field: RowField, text: String) {
        let slot = match field {
            RowField::Analyte => &mut self.analyte,
            RowField::Code => &mut self.code,
            RowField::Value => &mut self.value,
            RowField::Unit => &mut self.unit,
            RowField::Low => &mut self.low,
            RowField::High => &mut self.high,
            RowField::Flag => &mut self.flag,
        };
        *slot = text;
    }

    fn is_empty(&self) -> bool {
        [
            &self.analyte,
            &self.code,
            &self.value,
            &self.unit,
            &self.low,
            &self.high,
            &self.flag,
        ]
        .iter()
        .all(|t| t.trim().is_empty())
    }
}

/// The faulty fields of the form: (row index, field) → message key.
pub type RowErrors = BTreeMap<(usize, RowField), &'static str>;

/// A decimal as a practice types it: `5,4` or `5.4`, an optional sign, no
/// thousands separators, no exponent, nothing else ("< 5" is not a value
/// of this form).
pub fn parse_decimal(typed: &str) -> Option<f64> {
    let typed = typed.trim();
    let unsigned = typed.strip_prefix(['-', '+']).unwrap_or(typed);
    let separators = unsigned.chars().filter(|c| matches!(c, ',' | '.')).count();
    let well_formed = separators <= 1
        && unsigned.chars().any(|c| c.is_ascii_digit())
        && unsigned
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.'));
    if !well_formed {
        return None;
    }
    typed
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

const MAX_CODE: usize = 64;
const MAX_ANALYTE: usize = 200;
const MAX_UNIT: usize = 32;

fn too_long_or_controlled(text: &str, max: usize) -> bool {
    text.chars().count() > max || text.chars().any(char::is_control)
}

fn code_is_well_formed(code: &str) -> bool {
    code.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'))
}

/// Validate every non-empty row into an observation, the missing name,
/// code or unit filled from the common list when it knows the analyte
/// (name in `lang`). Either all rows are good or every fault is named.
pub fn validate(
    rows: &BTreeMap<usize, TypedRow>,
    lang: Lang,
) -> Result<Vec<ObservationInput>, RowErrors> {
    let mut errors = RowErrors::new();
    let mut observations = Vec::new();
    for (&index, row) in rows.iter().filter(|(_, row)| !row.is_empty()) {
        let mut fault = |field, key| {
            errors.entry((index, field)).or_insert(key);
        };
        let analyte = row.analyte.trim();
        let code = row.code.trim();
        let unit = row.unit.trim();
        let known = if code.is_empty() {
            loinc::by_name(analyte)
        } else {
            loinc::by_code(code)
        };
        if analyte.is_empty() && code.is_empty() {
            fault(RowField::Analyte, "facility-row-analyte-missing");
        } else if code.is_empty() && known.is_none() {
            fault(RowField::Code, "facility-row-code-missing");
        } else if analyte.is_empty() && known.is_none() {
            fault(RowField::Analyte, "facility-row-analyte-unknown-code");
        }
        if too_long_or_controlled(analyte, MAX_ANALYTE) {
            fault(RowField::Analyte, "facility-row-text-invalid");
        }
        if too_long_or_controlled(code, MAX_CODE) || !code_is_well_formed(code) {
            fault(RowField::Code, "facility-row-code-invalid");
        }
        if too_long_or_controlled(unit, MAX_UNIT) {
            fault(RowField::Unit, "facility-row-text-invalid");
        }
        let value = if row.value.trim().is_empty() {
            fault(RowField::Value, "facility-row-value-missing");
            None
        } else {
            let parsed = parse_decimal(&row.value);
            if parsed.is_none() {
                fault(RowField::Value, "facility-row-value-not-number");
            }
            parsed
        };
        let mut bound = |typed: &str, field| {
            if typed.trim().is_empty() {
                return None;
            }
            let parsed = parse_decimal(typed);
            if parsed.is_none() {
                fault(field, "facility-row-bound-not-number");
            }
            parsed
        };
        let low = bound(&row.low, RowField::Low);
        let high = bound(&row.high, RowField::High);
        if let (Some(l), Some(h)) = (low, high)
            && l > h
        {
            fault(RowField::Low, "facility-row-range-reversed");
        }
        let flag = match row.flag.trim() {
            "" => None,
            f @ ("N" | "L" | "H" | "A") => Some(f.to_owned()),
            _ => {
                fault(RowField::Flag, "facility-row-flag-invalid");
                None
            }
        };
        let Some(value) = value else { continue };
        let display = match (analyte.is_empty(), known) {
            (true, Some(a)) => a.name(lang).to_owned(),
            _ => analyte.to_owned(),
        };
        let code = match (code.is_empty(), known) {
            (true, Some(a)) => a.code.to_owned(),
            _ => code.to_owned(),
        };
        let unit = match (unit.is_empty(), known) {
            (true, Some(a)) if !a.unit.is_empty() => Some(a.unit.to_owned()),
            _ => Some(unit.to_owned()).filter(|u| !u.is_empty()),
        };
        observations.push(ObservationInput {
            code: Some(code),
            display: Some(display),
            value: Some(ObservationValue::Numeric(value)),
            unit,
            reference_low: low,
            reference_high: high,
            flag,
        });
    }
    if errors.is_empty() {
        Ok(observations)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(typed: &[TypedRow]) -> BTreeMap<usize, TypedRow> {
        typed.iter().cloned().enumerate().collect()
    }

    fn row(analyte: &str, code: &str, value: &str, low: &str, high: &str) -> TypedRow {
        TypedRow {
            analyte: analyte.into(),
            code: code.into(),
            value: value.into(),
            low: low.into(),
            high: high.into(),
            ..TypedRow::default()
        }
    }

    #[test]
    fn decimals_with_comma_or_point_and_nothing_else() {
        assert_eq!(parse_decimal("5,4"), Some(5.4));
        assert_eq!(parse_decimal(" 13.9 "), Some(13.9));
        assert_eq!(parse_decimal("-0,5"), Some(-0.5));
        assert_eq!(parse_decimal("142"), Some(142.0));
        for bad in [
            "", "abc", "1.234,5", "1e5", "inf", "NaN", "< 5", "5,4,3", ",", "-",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn empty_rows_are_ignored_and_known_codes_fill_name_and_unit() {
        let typed = rows(&[
            TypedRow::default(),
            row("", "718-7", "13,2", "12", "16"),
            TypedRow::default(),
            row("Glukose", "", "142", "", "100"),
        ]);
        let observations = validate(&typed, Lang::De).unwrap();
        assert_eq!(observations.len(), 2);
        assert_eq!(observations[0].display.as_deref(), Some("Hämoglobin"));
        assert_eq!(observations[0].unit.as_deref(), Some("g/dl"));
        assert_eq!(observations[0].value, Some(ObservationValue::Numeric(13.2)));
        assert_eq!(observations[1].code.as_deref(), Some("2345-7"));
        assert_eq!(observations[1].reference_high, Some(100.0));
        let english = validate(&rows(&[row("", "718-7", "13", "", "")]), Lang::En).unwrap();
        assert_eq!(english[0].display.as_deref(), Some("Haemoglobin"));
    }

    #[test]
    fn an_unknown_unit_stays_as_typed() {
        let mut typed = row("Hb", "718-7", "8,1", "", "");
        typed.unit = "mmol/l".into();
        let observations = validate(&rows(&[typed]), Lang::De).unwrap();
        assert_eq!(observations[0].unit.as_deref(), Some("mmol/l"));
        assert_eq!(observations[0].display.as_deref(), Some("Hb"));
    }

    #[test]
    fn every_fault_is_named_by_row_and_field() {
        let typed = rows(&[
            row("Hb", "718-7", "viel", "", ""),
            row("Hb", "718-7", "13", "16", "12"),
            row("", "", "5", "", ""),
            row("Hb", "718-7", "", "", ""),
            row("Etwas", "", "5", "", ""),
            row("Hb", "718 7", "5", "x", ""),
        ]);
        let errors = validate(&typed, Lang::De).unwrap_err();
        assert_eq!(
            errors.get(&(0, RowField::Value)),
            Some(&"facility-row-value-not-number")
        );
        assert_eq!(
            errors.get(&(1, RowField::Low)),
            Some(&"facility-row-range-reversed")
        );
        assert_eq!(
            errors.get(&(2, RowField::Analyte)),
            Some(&"facility-row-analyte-missing")
        );
        assert_eq!(
            errors.get(&(3, RowField::Value)),
            Some(&"facility-row-value-missing")
        );
        assert_eq!(
            errors.get(&(4, RowField::Code)),
            Some(&"facility-row-code-missing")
        );
        assert_eq!(
            errors.get(&(5, RowField::Code)),
            Some(&"facility-row-code-invalid")
        );
        assert_eq!(
            errors.get(&(5, RowField::Low)),
            Some(&"facility-row-bound-not-number")
        );
    }

    #[test]
    fn part_names_map_to_rows_and_fields() {
        assert_eq!(RowField::of_part("row-0-code"), Some((0, RowField::Code)));
        assert_eq!(RowField::of_part("row-42-high"), Some((42, RowField::High)));
        assert_eq!(RowField::of_part("row--code"), None);
        assert_eq!(RowField::of_part("row-1234-code"), None);
        assert_eq!(RowField::of_part("row-1-colour"), None);
        assert_eq!(RowField::of_part("title"), None);
    }
}
