//! What every page template gets: the language with its texts, the time
//! zone, and the language switch's link.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use fluent_bundle::FluentValue;
use hippo_core::time_util::UnixMillis;
use jiff::tz::TimeZone;

use super::format;
use super::{Lang, text, text_with};

#[derive(Debug, Clone)]
pub struct Ui {
    pub lang: Lang,
    /// Set for pages of one facility; otherwise the request's zone
    /// (`zone::current_zone`), read when a date is formatted.
    tz: Option<TimeZone>,
    /// The page's own path and query, for the language switch to return to.
    here: String,
}

impl Ui {
    pub fn new(lang: Lang, here: &str) -> Self {
        Self {
            lang,
            tz: None,
            here: here.to_owned(),
        }
    }

    /// Pages of one facility show its time zone.
    pub fn in_time_zone(mut self, name: &str) -> Self {
        self.tz = Some(format::time_zone(name));
        self
    }

    /// The zone dates on this page are shown in.
    pub fn zone(&self) -> TimeZone {
        self.tz.clone().unwrap_or_else(super::zone::current_zone)
    }

    /// The zone's name, shown next to times where it is not obvious
    /// (operators see UTC).
    pub fn zone_name(&self) -> String {
        self.zone().iana_name().unwrap_or("UTC").to_owned()
    }

    /// The `lang` attribute of the page.
    pub fn tag(&self) -> &'static str {
        self.lang.tag()
    }

    pub fn t(&self, key: &str) -> String {
        text(self.lang, key)
    }

    /// A text with one named argument (`{ $name }` in the Fluent file).
    pub fn t1(&self, key: &str, name: &str, value: impl ToString) -> String {
        text_with(self.lang, key, &[(name, arg(value.to_string()))])
    }

    pub fn t2(
        &self,
        key: &str,
        first: (&str, &dyn ToString),
        second: (&str, &dyn ToString),
    ) -> String {
        text_with(
            self.lang,
            key,
            &[
                (first.0, arg(first.1.to_string())),
                (second.0, arg(second.1.to_string())),
            ],
        )
    }

    pub fn date(&self, ms: &UnixMillis) -> String {
        format::date(*ms, &self.zone(), self.lang)
    }

    pub fn date_time(&self, ms: &UnixMillis) -> String {
        format::date_time(*ms, &self.zone(), self.lang)
    }

    /// A decimal as written in this language (`5,4` in German).
    pub fn decimal(&self, text: &str) -> String {
        format::decimal(text, self.lang)
    }

    /// The switch's link: to the other language, back to this page.
    pub fn switch_href(&self) -> String {
        format!(
            "/language?to={}&back={}",
            self.lang.other().tag(),
            url::form_urlencoded::byte_serialize(self.here.as_bytes()).collect::<String>()
        )
    }

    /// The other language's own name ("English" on a German page).
    pub fn switch_label(&self) -> String {
        text(self.lang.other(), "language-own-name")
    }
}

/// Numbers stay numbers for Fluent's plural rules.
fn arg(value: String) -> FluentValue<'static> {
    match value.parse::<f64>() {
        Ok(n) if !value.contains(['e', 'E']) => FluentValue::from(n),
        _ => FluentValue::from(value),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ui {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let lang = parts
            .extensions
            .get::<Lang>()
            .copied()
            .unwrap_or_else(|| Lang::of_request(&parts.headers));
        let here = parts
            .uri
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned();
        Ok(Self::new(lang, &here))
    }
}

impl Ui {
    /// The current request's language and path, as decided by
    /// [`super::with_language`]; for page builders that get no extractor.
    pub fn current() -> Self {
        Self::new(Lang::current(), &super::negotiate::current_path())
    }
}

impl Default for Ui {
    fn default() -> Self {
        Self::current()
    }
}
