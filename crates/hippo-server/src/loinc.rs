//! The short list of common lab analytes (LOINC code, German and English
//! name, usual unit) behind the upload form's searchable code field. The
//! data is a file in the repository (`data/loinc_common.csv`) so that it
//! is reviewed as data; the server fills a row's missing name or unit from
//! it, the browser only offers it as suggestions.

use std::sync::LazyLock;

use crate::i18n::Lang;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analyte {
    pub code: &'static str,
    pub de: &'static str,
    pub en: &'static str,
    /// Empty for unitless results (INR).
    pub unit: &'static str,
}

impl Analyte {
    pub fn name(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::De => self.de,
            Lang::En => self.en,
        }
    }
}

const SOURCE: &str = include_str!("../data/loinc_common.csv");

static ANALYTES: LazyLock<Vec<Analyte>> = LazyLock::new(|| parse(SOURCE));

/// Lines `code;de;en;unit`; comments (`#`) and the header are skipped, as
/// is any malformed line (the unit test below keeps the file clean).
fn parse(source: &'static str) -> Vec<Analyte> {
    source
        .lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with("code;"))
        .filter_map(|line| {
            let mut cells = line.split(';').map(str::trim);
            let analyte = Analyte {
                code: cells.next().filter(|c| !c.is_empty())?,
                de: cells.next().filter(|c| !c.is_empty())?,
                en: cells.next().filter(|c| !c.is_empty())?,
                unit: cells.next()?,
            };
            cells.next().is_none().then_some(analyte)
        })
        .collect()
}

pub fn common_analytes() -> &'static [Analyte] {
    &ANALYTES
}

pub fn by_code(code: &str) -> Option<&'static Analyte> {
    ANALYTES.iter().find(|a| a.code == code)
}

/// An analyte by its German or English name, ignoring case.
pub fn by_name(name: &str) -> Option<&'static Analyte> {
    let name = name.trim().to_lowercase();
    ANALYTES
        .iter()
        .find(|a| a.de.to_lowercase() == name || a.en.to_lowercase() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_the_data_file_is_an_analyte_with_a_unique_code() {
        let lines = SOURCE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("code;"))
            .count();
        let analytes = common_analytes();
        assert_eq!(analytes.len(), lines, "a malformed line in the file");
        assert!(analytes.len() >= 40);
        let mut codes: Vec<_> = analytes.iter().map(|a| a.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), analytes.len());
        for a in analytes {
            // LOINC codes: digits, a dash, one check digit.
            let (number, check) = a.code.split_once('-').unwrap();
            assert!(number.chars().all(|c| c.is_ascii_digit()), "{}", a.code);
            assert_eq!(check.len(), 1, "{}", a.code);
            assert_eq!(loinc_check_digit(number), check, "{}", a.code);
        }
    }

    /// LOINC's mod-10 check digit (the Luhn variant LOINC documents).
    fn loinc_check_digit(number: &str) -> String {
        let digits: Vec<u32> = number.chars().filter_map(|c| c.to_digit(10)).collect();
        let mut sum = 0;
        for (i, d) in digits.iter().rev().enumerate() {
            if i % 2 == 0 {
                let doubled = d * 2;
                sum += doubled / 10 + doubled % 10;
            } else {
                sum += d;
            }
        }
        ((10 - sum % 10) % 10).to_string()
    }

    #[test]
    fn lookups_by_code_and_by_either_name() {
        assert_eq!(by_code("718-7").unwrap().unit, "g/dl");
        assert_eq!(by_name("glukose").unwrap().code, "2345-7");
        assert_eq!(by_name("Glucose").unwrap().code, "2345-7");
        assert!(by_code("0000-0").is_none());
    }
}
