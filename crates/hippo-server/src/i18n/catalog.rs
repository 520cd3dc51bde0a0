//! The texts of both languages, parsed once from the embedded Fluent files.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

use super::Lang;

/// One area of the UI: its file name and its texts in German and English.
/// An area's file must exist in both languages with the same keys (a test
/// checks it).
pub struct Area {
    pub name: &'static str,
    pub de: &'static str,
    pub en: &'static str,
}

macro_rules! area {
    ($name:literal) => {
        Area {
            name: $name,
            de: include_str!(concat!("../../locales/de/", $name, ".ftl")),
            en: include_str!(concat!("../../locales/en/", $name, ".ftl")),
        }
    };
}

pub const AREAS: &[Area] = &[
    area!("common"),
    area!("account"),
    area!("password"),
    area!("patient"),
    area!("facility"),
    area!("operator"),
    area!("messaging"),
    area!("retrieval"),
    area!("mail"),
    area!("admin"),
    area!("sessions"),
    area!("passkey"),
];

struct Catalog {
    de: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

fn bundle(lang: Lang) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = match lang {
        Lang::De => unic_langid::langid!("de-DE"),
        Lang::En => unic_langid::langid!("en-GB"),
    };
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around placeables: our pages are
    // left-to-right only, and the marks would end up in e-mail subjects.
    bundle.set_use_isolating(false);
    for area in AREAS {
        let source = match lang {
            Lang::De => area.de,
            Lang::En => area.en,
        };
        // A syntax error or a duplicate key is a bug in the embedded files,
        // which the catalog tests fail on; at run time the rest still loads.
        let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(r, errors)| {
            tracing::error!(area = area.name, ?errors, "locale file has syntax errors");
            r
        });
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(area = area.name, ?errors, "locale file repeats a key");
        }
    }
    bundle
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| Catalog {
    de: bundle(Lang::De),
    en: bundle(Lang::En),
});

fn bundle_of(lang: Lang) -> &'static FluentBundle<FluentResource> {
    match lang {
        Lang::De => &CATALOG.de,
        Lang::En => &CATALOG.en,
    }
}

/// The text for `key`; a missing key shows as the key itself (and fails
/// the catalog tests), never as an empty page.
pub fn text(lang: Lang, key: &str) -> String {
    format(lang, key, None)
}

/// The text for `key` with named arguments (`{ $name }` in the file).
pub fn text_with(lang: Lang, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.clone());
    }
    format(lang, key, Some(&fluent_args))
}

fn format(lang: Lang, key: &str, args: Option<&FluentArgs<'_>>) -> String {
    let bundle = bundle_of(lang);
    let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
        tracing::error!(key, lang = lang.tag(), "missing UI text");
        return key.to_owned();
    };
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, args, &mut errors);
    if !errors.is_empty() {
        tracing::error!(key, lang = lang.tag(), ?errors, "UI text did not format");
    }
    text.into_owned()
}

/// Every key of one language, for the tests.
#[cfg(test)]
pub(super) fn keys(lang: Lang) -> Vec<String> {
    let mut keys = Vec::new();
    for area in AREAS {
        let source = match lang {
            Lang::De => area.de,
            Lang::En => area.en,
        };
        if let Ok(resource) = FluentResource::try_new(source.to_owned()) {
            for entry in resource.entries() {
                if let fluent_syntax::ast::Entry::Message(m) = entry {
                    keys.push(m.id.name.to_owned());
                }
            }
        }
    }
    keys
}
