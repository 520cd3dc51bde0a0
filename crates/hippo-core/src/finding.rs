//! Findings (Befunde): life cycle and structured observations, validated on
//! construction so that storage only ever sees well-formed values.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    Draft,
    Released,
    Retracted,
}

impl FindingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Released => "released",
            Self::Retracted => "retracted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(Self::Draft),
            "released" => Some(Self::Released),
            "retracted" => Some(Self::Retracted),
            _ => None,
        }
    }

    /// Draft → released. Released findings are visible to the patient.
    pub fn release(self) -> Result<Self, DomainError> {
        match self {
            Self::Draft => Ok(Self::Released),
            _ => Err(DomainError::InvalidTransition {
                from: self.as_str(),
                attempted: "released",
            }),
        }
    }

    /// Released → retracted. A retracted finding disappears from the
    /// patient's view; it is kept for the record and cannot come back.
    pub fn retract(self) -> Result<Self, DomainError> {
        match self {
            Self::Released => Ok(Self::Retracted),
            _ => Err(DomainError::InvalidTransition {
                from: self.as_str(),
                attempted: "retracted",
            }),
        }
    }
}

/// HL7 v2 table 0078 subset: the flags a patient needs to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AbnormalFlag {
    /// Normal.
    N,
    /// Below the reference range.
    L,
    /// Above the reference range.
    H,
    /// Abnormal (for non-numeric results).
    A,
}

impl AbnormalFlag {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::N => "N",
            Self::L => "L",
            Self::H => "H",
            Self::A => "A",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "N" => Some(Self::N),
            "L" => Some(Self::L),
            "H" => Some(Self::H),
            "A" => Some(Self::A),
            _ => None,
        }
    }

    pub fn is_abnormal(self) -> bool {
        self != Self::N
    }
}

/// A result value: a number for quantitative tests, text for qualitative
/// ones ("negativ", "positiv").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ObservationValue {
    Numeric(f64),
    Text(String),
}

impl ObservationValue {
    pub fn display(&self) -> String {
        match self {
            Self::Numeric(v) => format!("{v}"),
            Self::Text(t) => t.clone(),
        }
    }
}

/// An observation as submitted by a client (JSON). Unknown fields are
/// rejected so that a typo ("refrence_low") is an error, not a silent drop.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservationInput {
    pub code: Option<String>,
    pub display: Option<String>,
    pub value: Option<ObservationValue>,
    pub unit: Option<String>,
    pub reference_low: Option<f64>,
    pub reference_high: Option<f64>,
    pub flag: Option<String>,
}

/// A validated observation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    /// A code such as LOINC `718-7`.
    pub code: String,
    pub display: String,
    pub value: ObservationValue,
    pub unit: Option<String>,
    pub reference_low: Option<f64>,
    pub reference_high: Option<f64>,
    pub flag: AbnormalFlag,
}

pub const MAX_OBSERVATIONS: usize = 500;
const MAX_CODE: usize = 64;
const MAX_TEXT: usize = 200;
const MAX_UNIT: usize = 32;

fn required_text(field: String, value: Option<String>, max: usize) -> Result<String, DomainError> {
    let value = value.map(|v| v.trim().to_owned()).unwrap_or_default();
    if value.is_empty() {
        return Err(DomainError::invalid(field, "is required"));
    }
    check_text(&field, &value, max)?;
    Ok(value)
}

pub(crate) fn check_text(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    if value.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

impl Observation {
    /// Validate one submitted observation; `index` names it in errors.
    pub fn parse(index: usize, input: ObservationInput) -> Result<Self, DomainError> {
        let field = |name: &str| format!("observations[{index}].{name}");
        let code = required_text(field("code"), input.code, MAX_CODE)?;
        if !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'))
        {
            return Err(DomainError::invalid(
                field("code"),
                "may only contain letters, digits, '-', '.', '_' and ':'",
            ));
        }
        let display = required_text(field("display"), input.display, MAX_TEXT)?;
        let value = match input.value {
            None => return Err(DomainError::invalid(field("value"), "is required")),
            Some(ObservationValue::Numeric(v)) if !v.is_finite() => {
                return Err(DomainError::invalid(
                    field("value"),
                    "must be a finite number",
                ));
            }
            Some(ObservationValue::Text(t)) => {
                ObservationValue::Text(required_text(field("value"), Some(t), MAX_TEXT)?)
            }
            Some(v) => v,
        };
        let unit = match input.unit.map(|u| u.trim().to_owned()) {
            Some(u) if u.is_empty() => None,
            Some(u) => {
                check_text(&field("unit"), &u, MAX_UNIT)?;
                Some(u)
            }
            None => None,
        };
        for (name, bound) in [
            ("reference_low", input.reference_low),
            ("reference_high", input.reference_high),
        ] {
            if bound.is_some_and(|b| !b.is_finite()) {
                return Err(DomainError::invalid(field(name), "must be a finite number"));
            }
        }
        if let (Some(low), Some(high)) = (input.reference_low, input.reference_high)
            && low > high
        {
            return Err(DomainError::invalid(
                field("reference_low"),
                "must not be greater than reference_high",
            ));
        }
        let flag = match input.flag.as_deref() {
            Some(f) => AbnormalFlag::parse(f)
                .ok_or_else(|| DomainError::invalid(field("flag"), "must be one of N, L, H, A"))?,
            None => derive_flag(&value, input.reference_low, input.reference_high),
        };
        Ok(Self {
            code,
            display,
            value,
            unit,
            reference_low: input.reference_low,
            reference_high: input.reference_high,
            flag,
        })
    }

    /// "12–16" style text of the reference range, if any.
    pub fn reference_range(&self) -> Option<String> {
        match (self.reference_low, self.reference_high) {
            (Some(l), Some(h)) => Some(format!("{l} – {h}")),
            (Some(l), None) => Some(format!("≥ {l}")),
            (None, Some(h)) => Some(format!("≤ {h}")),
            (None, None) => None,
        }
    }
}

/// A numeric value outside its reference range is flagged even if the sender
/// did not say so; text values without a flag count as normal.
fn derive_flag(value: &ObservationValue, low: Option<f64>, high: Option<f64>) -> AbnormalFlag {
    match value {
        ObservationValue::Numeric(v) if low.is_some_and(|l| *v < l) => AbnormalFlag::L,
        ObservationValue::Numeric(v) if high.is_some_and(|h| *v > h) => AbnormalFlag::H,
        _ => AbnormalFlag::N,
    }
}

/// A finding as submitted: title plus observations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingInput {
    pub title: Option<String>,
    #[serde(default)]
    pub observations: Vec<ObservationInput>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewFinding {
    pub title: String,
    pub observations: Vec<Observation>,
}

impl NewFinding {
    pub fn parse(input: FindingInput) -> Result<Self, DomainError> {
        let title = required_text("title".into(), input.title, MAX_TEXT)?;
        if input.observations.len() > MAX_OBSERVATIONS {
            return Err(DomainError::invalid(
                "observations",
                format!("at most {MAX_OBSERVATIONS} per finding"),
            ));
        }
        let observations = input
            .observations
            .into_iter()
            .enumerate()
            .map(|(i, o)| Observation::parse(i, o))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            title,
            observations,
        })
    }

    /// Parse the JSON part of an upload, turning serde's error into a clear
    /// field-level message.
    pub fn parse_json(json: &str) -> Result<Self, DomainError> {
        let input: FindingInput = serde_json::from_str(json).map_err(|e| {
            DomainError::invalid("metadata", format!("is not valid finding JSON: {e}"))
        })?;
        Self::parse(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(json: &str) -> Result<Observation, DomainError> {
        Observation::parse(0, serde_json::from_str(json).unwrap())
    }

    #[test]
    fn life_cycle() {
        use FindingStatus::*;
        assert_eq!(Draft.release(), Ok(Released));
        assert_eq!(Released.retract(), Ok(Retracted));
        assert!(Released.release().is_err());
        assert!(Retracted.release().is_err());
        assert!(Draft.retract().is_err());
        assert!(Retracted.retract().is_err());
    }

    #[test]
    fn flags_are_derived_from_the_range() {
        let high = obs(r#"{"code":"718-7","display":"Hb","value":18.1,"unit":"g/dl","reference_low":12,"reference_high":16}"#).unwrap();
        assert_eq!(high.flag, AbnormalFlag::H);
        let low = obs(r#"{"code":"718-7","display":"Hb","value":9,"reference_low":12}"#).unwrap();
        assert_eq!(low.flag, AbnormalFlag::L);
        let text =
            obs(r#"{"code":"94500-6","display":"SARS-CoV-2 PCR","value":"negativ"}"#).unwrap();
        assert_eq!(text.flag, AbnormalFlag::N);
        let explicit = obs(r#"{"code":"x","display":"y","value":"positiv","flag":"A"}"#).unwrap();
        assert_eq!(explicit.flag, AbnormalFlag::A);
    }

    #[test]
    fn rejects_malformed_observations_with_field_names() {
        let e = obs(r#"{"display":"Hb","value":1}"#).unwrap_err();
        assert_eq!(e.to_string(), "observations[0].code: is required");
        let e = obs(r#"{"code":"a b","display":"Hb","value":1}"#).unwrap_err();
        assert!(e.to_string().contains("observations[0].code"));
        let e = obs(r#"{"code":"a","display":"Hb"}"#).unwrap_err();
        assert!(e.to_string().contains("value"));
        let e =
            obs(r#"{"code":"a","display":"Hb","value":1,"reference_low":5,"reference_high":1}"#)
                .unwrap_err();
        assert!(e.to_string().contains("reference_low"));
        let e = obs(r#"{"code":"a","display":"Hb","value":1,"flag":"X"}"#).unwrap_err();
        assert!(e.to_string().contains("flag"));
        assert!(NewFinding::parse_json(r#"{"title":"x","observations":[{"code":"a","display":"b","value":1,"refrence_low":1}]}"#).is_err());
        assert!(NewFinding::parse_json(r#"{"observations":[]}"#).is_err());
        assert!(NewFinding::parse_json("not json").is_err());
    }
}
