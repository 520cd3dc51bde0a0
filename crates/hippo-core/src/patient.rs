//! Patient records as created by a facility.

use serde::Deserialize;
use time::Date;
use time::macros::format_description;

use crate::error::DomainError;
use crate::finding::check_text;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientInput {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPatient {
    pub given_name: String,
    pub family_name: String,
    pub birth_date: Date,
    /// A decoy (honeytoken) record: any access to it raises an alert.
    pub decoy: bool,
}

/// What an intake (HL7) does when no patient of the tenant matches the
/// message's patient: create the record, or refuse the message. A
/// facility's setting, chosen by the operator's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnmatchedPatient {
    /// Create the patient record from the message's name and birth date.
    #[default]
    Create,
    /// Refuse the message; nothing is stored.
    Reject,
}

impl UnmatchedPatient {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "create" => Some(Self::Create),
            "reject" => Some(Self::Reject),
            _ => None,
        }
    }
}

const MAX_NAME: usize = 100;

fn name(field: &str, value: Option<String>) -> Result<String, DomainError> {
    let value = value.map(|v| v.trim().to_owned()).unwrap_or_default();
    if value.is_empty() {
        return Err(DomainError::invalid(field, "is required"));
    }
    check_text(field, &value, MAX_NAME)?;
    Ok(value)
}

pub fn parse_birth_date(value: &str) -> Result<Date, DomainError> {
    Date::parse(value.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|_| DomainError::invalid("birth_date", "must be a date as YYYY-MM-DD"))
}

pub fn format_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

impl NewPatient {
    /// `today` is passed in so that the rule "not in the future" stays pure.
    pub fn parse(input: PatientInput, today: Date) -> Result<Self, DomainError> {
        let given_name = name("given_name", input.given_name)?;
        let family_name = name("family_name", input.family_name)?;
        let raw = input
            .birth_date
            .ok_or_else(|| DomainError::invalid("birth_date", "is required"))?;
        let birth_date = parse_birth_date(&raw)?;
        if birth_date > today {
            return Err(DomainError::invalid(
                "birth_date",
                "must not be in the future",
            ));
        }
        if birth_date.year() < 1900 {
            return Err(DomainError::invalid("birth_date", "must be after 1900"));
        }
        Ok(Self {
            given_name,
            family_name,
            birth_date,
            decoy: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn input(g: &str, f: &str, b: &str) -> PatientInput {
        PatientInput {
            given_name: Some(g.into()),
            family_name: Some(f.into()),
            birth_date: Some(b.into()),
        }
    }

    #[test]
    fn validates_patients() {
        let today = date!(2026 - 11 - 23);
        assert!(NewPatient::parse(input("Erika", "Mustermann", "1964-08-12"), today).is_ok());
        assert!(NewPatient::parse(input("", "Mustermann", "1964-08-12"), today).is_err());
        assert!(NewPatient::parse(input("Erika", "Mustermann", "12.08.1964"), today).is_err());
        assert!(NewPatient::parse(input("Erika", "Mustermann", "2030-01-01"), today).is_err());
        assert!(NewPatient::parse(input("Erika\u{7}", "M", "1964-08-12"), today).is_err());
    }
}
