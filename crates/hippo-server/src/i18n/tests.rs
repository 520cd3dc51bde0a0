use std::collections::BTreeSet;
use std::path::Path;

use super::catalog::keys;
use super::format::{date, date_time, decimal, number, time_zone};
use super::*;

#[test]
fn every_area_parses_in_both_languages_and_has_the_same_keys() {
    for area in AREAS {
        let mut key_sets = Vec::new();
        for (lang, source) in [("de", area.de), ("en", area.en)] {
            let resource = fluent_bundle::FluentResource::try_new(source.to_owned())
                .unwrap_or_else(|(_, e)| panic!("{lang}/{}.ftl: {e:?}", area.name));
            let keys: BTreeSet<String> = resource
                .entries()
                .filter_map(|e| match e {
                    fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                    _ => None,
                })
                .collect();
            key_sets.push(keys);
        }
        let only_de: Vec<_> = key_sets[0].difference(&key_sets[1]).collect();
        let only_en: Vec<_> = key_sets[1].difference(&key_sets[0]).collect();
        assert!(
            only_de.is_empty() && only_en.is_empty(),
            "{}.ftl: only in German {only_de:?}, only in English {only_en:?}",
            area.name
        );
    }
}

#[test]
fn no_key_is_defined_twice_across_areas() {
    for lang in Lang::ALL {
        let all = keys(lang);
        let unique: BTreeSet<_> = all.iter().collect();
        assert_eq!(all.len(), unique.len(), "{lang:?} repeats a key");
    }
}

/// Keys used in templates (`ui.t("key")`, `ui.t1("key", ...)`) and in code
/// (`text(lang, "key")`, `text_with(lang, "key", ...)`).
fn used_keys(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for opener in [".t(\"", ".t1(\"", ".t2(\""] {
        let mut rest = source;
        while let Some(at) = rest.find(opener) {
            rest = &rest[at + opener.len()..];
            if let Some(end) = rest.find('"') {
                found.push(rest[..end].to_owned());
            }
        }
    }
    for opener in ["text(", "text_with("] {
        let mut rest = source;
        while let Some(at) = rest.find(opener) {
            rest = &rest[at + opener.len()..];
            // `text(lang, "key"`: the first string literal on the same line.
            let line = rest.split('\n').next().unwrap_or("");
            if let Some(open) = line.find(", \"") {
                let key = &line[open + 3..];
                if let Some(end) = key.find('"') {
                    found.push(key[..end].to_owned());
                }
            }
        }
    }
    found
}

fn collect_sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_sources(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "html" || e == "rs" || e == "txt")
        {
            out.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
}

#[test]
fn every_key_the_pages_and_code_use_exists_in_both_languages() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    collect_sources(&root.join("templates"), &mut sources);
    collect_sources(&root.join("src"), &mut sources);
    let de: BTreeSet<String> = keys(Lang::De).into_iter().collect();
    let en: BTreeSet<String> = keys(Lang::En).into_iter().collect();
    let mut missing = Vec::new();
    let mut checked = 0;
    for (file, source) in &sources {
        if file.ends_with("i18n/tests.rs") {
            continue;
        }
        for key in used_keys(source) {
            checked += 1;
            for (lang, set) in [("de", &de), ("en", &en)] {
                if !set.contains(&key) {
                    missing.push(format!("{file}: {key} ({lang})"));
                }
            }
        }
    }
    assert!(checked > 20, "the scan found only {checked} keys in use");
    assert!(missing.is_empty(), "missing texts:\n{}", missing.join("\n"));
}

#[test]
fn a_missing_key_shows_as_itself() {
    assert_eq!(text(Lang::De, "no-such-key"), "no-such-key");
    assert_ne!(text(Lang::De, "nav-log-out"), text(Lang::En, "nav-log-out"));
}

#[test]
fn accept_language_picks_the_best_supported_language() {
    assert_eq!(
        Lang::from_accept_language("de-DE,de;q=0.9,en;q=0.8"),
        Some(Lang::De)
    );
    assert_eq!(
        Lang::from_accept_language("fr-FR, en-US;q=0.7, de;q=0.5"),
        Some(Lang::En)
    );
    assert_eq!(
        Lang::from_accept_language("en;q=0.2, de-AT;q=0.9"),
        Some(Lang::De)
    );
    assert_eq!(Lang::from_accept_language("fr, it"), None);
    assert_eq!(Lang::from_accept_language("de;q=0"), None);
}

#[test]
fn dates_are_shown_in_the_facility_time_zone() {
    let berlin = time_zone("Europe/Berlin");
    // 2026-07-01 22:30 UTC is already 2 July in Berlin (summer time).
    let summer = 1_782_945_000_000;
    assert_eq!(date(summer, &berlin, Lang::De), "02.07.2026");
    assert_eq!(
        date_time(summer, &berlin, Lang::De),
        "02.07.2026, 00:30 CEST"
    );
    assert_eq!(date(summer, &berlin, Lang::En), "2 Jul 2026");
    // 2026-12-02 12:00 UTC is 13:00 in Berlin (winter time).
    let winter = 1_796_212_800_000;
    assert_eq!(
        date_time(winter, &berlin, Lang::En),
        "2 Dec 2026, 13:00 CET"
    );
    assert_eq!(
        date_time(winter, &time_zone("no/such zone"), Lang::En),
        "2 Dec 2026, 13:00 CET"
    );
}

#[test]
fn decimals_use_the_comma_in_german() {
    assert_eq!(decimal("5.4", Lang::De), "5,4");
    assert_eq!(decimal("<0.5", Lang::De), "<0,5");
    assert_eq!(decimal("5.4", Lang::En), "5.4");
    assert_eq!(decimal("positive.", Lang::De), "positive.");
    assert_eq!(decimal("3.5-5.1", Lang::De), "3,5-5,1");
    assert_eq!(number(4.250, 2, Lang::De), "4,25");
    assert_eq!(number(7.0, 1, Lang::En), "7");
}

#[test]
fn every_failure_code_has_an_error_text() {
    let source = include_str!("../error.rs");
    let start = source.find("pub fn code(&self)").unwrap();
    let end = start + source[start..].find("pub fn localized").unwrap();
    let mut codes = Vec::new();
    let mut rest = &source[start..end];
    while let Some(at) = rest.find("=> \"") {
        rest = &rest[at + 4..];
        let close = rest.find('"').unwrap();
        codes.push(rest[..close].to_owned());
    }
    assert!(codes.len() > 15, "{codes:?}");
    for code in codes {
        for lang in Lang::ALL {
            let key = format!("error-{code}");
            assert_ne!(text(lang, &key), key, "{lang:?} lacks {key}");
        }
    }
}
