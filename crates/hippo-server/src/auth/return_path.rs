//! Where a login returns to (issue 12): the page that asked for it, if
//! it is a path on this server (no open redirect).

/// Where the login may lead after it: a path on this server, never a
/// scheme, another host (`//evil`, `/\\evil`) or the login itself.
pub fn local_path(next: &str) -> Option<&str> {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.starts_with("/login")
        && next.len() <= 512
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    local.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/account/sessions"), Some("/account/sessions"));
        assert_eq!(local_path("/findings?x=1"), Some("/findings?x=1"));
        for foreign in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil",
            "/login?next=/",
            "/a b",
            "",
        ] {
            assert_eq!(local_path(foreign), None, "{foreign}");
        }
    }
}
