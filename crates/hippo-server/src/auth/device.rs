//! Which device a login comes from (issue 12): a coarse label for the
//! sessions list and the new-device mail (browser family and OS, never
//! the full User-Agent), the client's network shortened to /24 or /64,
//! and the key by which a device is recognised again: the browser's
//! long-lived `hippo_device` cookie, or for API clients the User-Agent
//! with the network.

use std::net::IpAddr;

use hippo_core::audit::RequestOrigin;
use hippo_store::SessionDevice;

use crate::auth::token::hash_token;

/// The browser's device cookie: 256 random bits, HttpOnly, SameSite=Lax,
/// Secure under TLS; only its hash is stored per subject.
pub const DEVICE_COOKIE: &str = "hippo_device";
/// About 400 days, the longest a browser keeps a cookie.
pub const DEVICE_COOKIE_MAX_AGE_SECS: i64 = 400 * 24 * 60 * 60;

/// How the login's device is recognised.
pub enum DeviceKey<'a> {
    /// The browser's device cookie value.
    Browser(&'a str),
    /// An API client: its User-Agent and network.
    ApiClient,
}

/// "Firefox on Linux", "Chrome on Android", "curl", or "unknown".
pub fn device_label(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or_default();
    let has = |needle: &str| ua.contains(needle);
    // Order matters: Edge and Opera carry "Chrome", Chrome carries "Safari".
    let browser = if has("Edg/") {
        "Edge"
    } else if has("OPR/") || has("Opera") {
        "Opera"
    } else if has("Firefox/") {
        "Firefox"
    } else if has("Chromium/") {
        "Chromium"
    } else if has("Chrome/") || has("CriOS/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else if ua.starts_with("curl/") {
        "curl"
    } else if has("reqwest") {
        "reqwest"
    } else if ua.is_empty() {
        return "unknown".into();
    } else {
        "other"
    };
    let os = if has("Android") {
        Some("Android")
    } else if has("iPhone") || has("iPad") {
        Some("iOS")
    } else if has("Windows") {
        Some("Windows")
    } else if has("Mac OS X") || has("Macintosh") {
        Some("macOS")
    } else if has("CrOS") {
        Some("ChromeOS")
    } else if has("Linux") || has("X11") {
        Some("Linux")
    } else {
        None
    };
    match os {
        Some(os) => format!("{browser} / {os}"),
        None => browser.into(),
    }
}

/// The client's network: IPv4 to /24, IPv6 to /64.
pub fn client_network(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => client_network(Some(IpAddr::V4(v4))),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => String::new(),
    }
}

/// What the session records about its device.
pub fn session_device(origin: &RequestOrigin) -> SessionDevice {
    let ip = origin
        .client_addr
        .as_deref()
        .and_then(|a| a.parse::<IpAddr>().ok());
    SessionDevice {
        label: device_label(origin.user_agent.as_deref()),
        network: client_network(ip),
    }
}

/// The hash a device is remembered by.
pub fn device_hash(key: &DeviceKey<'_>, origin: &RequestOrigin) -> String {
    match key {
        DeviceKey::Browser(cookie) => hash_token(&format!("browser:{cookie}")),
        DeviceKey::ApiClient => {
            let device = session_device(origin);
            hash_token(&format!(
                "api:{}\n{}",
                origin.user_agent.as_deref().unwrap_or_default(),
                device.network
            ))
        }
    }
}

/// A device cookie value is a token like a session's; anything else is
/// replaced by a fresh one.
pub fn is_device_cookie(value: &str) -> bool {
    crate::auth::token::is_well_formed(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_browser_family_and_os_only() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(device_label(Some(firefox)), "Firefox / Linux");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(device_label(Some(edge)), "Edge / Windows");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(device_label(Some(iphone)), "Safari / iOS");
        assert_eq!(device_label(Some("curl/8.5.0")), "curl");
        assert_eq!(device_label(None), "unknown");
    }

    #[test]
    fn networks_are_shortened() {
        assert_eq!(
            client_network(Some("203.0.113.77".parse().unwrap())),
            "203.0.113.0/24"
        );
        assert_eq!(
            client_network(Some("2001:db8:1:2:3:4:5:6".parse().unwrap())),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            client_network(Some("::ffff:192.0.2.9".parse().unwrap())),
            "192.0.2.0/24"
        );
    }
}
