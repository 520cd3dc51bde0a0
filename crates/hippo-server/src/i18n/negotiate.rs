//! Which language a request gets, and the middleware that makes it known
//! to error pages (which are rendered far from any extractor).

use axum::extract::Request;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::CookieJar;

/// The cookie set by the language switch; it holds `de` or `en`.
pub const LANG_COOKIE: &str = "hippo_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    De,
    #[default]
    En,
}

tokio::task_local! {
    /// The language of the request being handled, for failures rendered
    /// as pages without access to the request.
    static REQUEST_LANG: (Lang, String);
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::De, Lang::En];

    pub fn tag(self) -> &'static str {
        match self {
            Self::De => "de",
            Self::En => "en",
        }
    }

    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "de" => Some(Self::De),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Self {
        match self {
            Self::De => Self::En,
            Self::En => Self::De,
        }
    }

    /// The best supported language of an `Accept-Language` header, by its
    /// q-values (RFC 9110 §12.5.4); `None` when it names neither.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::parse) else {
                continue;
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            // Ties keep the earlier entry, as the browser listed it first.
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// The request's language: the switch's cookie, then the browser's.
    pub fn of_request(headers: &axum::http::HeaderMap) -> Self {
        let jar = CookieJar::from_headers(headers);
        if let Some(lang) = jar.get(LANG_COOKIE).and_then(|c| Lang::parse(c.value())) {
            return lang;
        }
        headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::from_accept_language)
            .unwrap_or_default()
    }

    /// The language of the request being handled (English outside one).
    pub fn current() -> Self {
        REQUEST_LANG.try_with(|(lang, _)| *lang).unwrap_or_default()
    }
}

/// The path and query of the request being handled (`/` outside one).
pub fn current_path() -> String {
    REQUEST_LANG
        .try_with(|(_, here)| here.clone())
        .unwrap_or_else(|_| "/".to_owned())
}

/// Decides the language once per request: into the request's extensions
/// for the `Ui` extractor, and into a task-local (with the page's path,
/// for the switch) for pages rendered away from the extractors.
pub async fn with_language(mut request: Request, next: Next) -> Response {
    let lang = Lang::of_request(request.headers());
    let here = request
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    request.extensions_mut().insert(lang);
    let handled = super::zone::with_zone_slot(next.run(request));
    REQUEST_LANG.scope((lang, here), handled).await
}
