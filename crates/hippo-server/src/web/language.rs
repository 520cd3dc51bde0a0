//! The language switch: a plain link (works without JavaScript) that sets
//! the `hippo_lang` cookie and returns to the page it came from.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;

use crate::i18n::{LANG_COOKIE, Lang};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Switch {
    to: String,
    back: Option<String>,
}

/// Only a path of this site: `/x`, never `//host` or `/\\host`, which
/// browsers read as another site (an open redirect).
fn local_path(back: Option<&str>) -> &str {
    match back {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/\\") => p,
        _ => "/",
    }
}

pub async fn switch(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<Switch>,
) -> Response {
    let back = local_path(query.back.as_deref()).to_owned();
    let Some(lang) = Lang::parse(&query.to) else {
        return Redirect::to(&back).into_response();
    };
    let cookie = Cookie::build((LANG_COOKIE, lang.tag()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config().cookie_secure)
        .path("/")
        .max_age(time::Duration::days(365))
        .build();
    (jar.add(cookie), Redirect::to(&back)).into_response()
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn the_switch_returns_only_to_pages_of_this_site() {
        assert_eq!(local_path(Some("/findings?x=1")), "/findings?x=1");
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(None), "/");
    }
}
