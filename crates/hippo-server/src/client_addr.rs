//! The client's address: the direct peer, unless that peer is a configured
//! trusted proxy, in which case the right-most address of the forwarding
//! chain (`Forwarded`, else `X-Forwarded-For`) that is not itself a trusted
//! proxy. Anything left of that hop was written by the client and proves
//! nothing; without configured proxies the headers are ignored entirely.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Forwarding hops read at most (a longer chain is cut, oldest first).
const MAX_HOPS: usize = 32;

pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&ip.to_canonical()));
    if !is_trusted(&peer) {
        return peer;
    }
    let chain = forwarded_chain(headers);
    let mut client = peer;
    // Walk from the nearest hop outwards while the hops are ours.
    for hop in chain.iter().rev() {
        match hop {
            Some(ip) => {
                client = *ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            // An unreadable hop ends the trust: the last readable one
            // before it is the client as far as we can tell.
            None => break,
        }
    }
    client
}

/// The hops of `Forwarded` (RFC 7239 `for=`) if present, else of
/// `X-Forwarded-For`, oldest first; `None` for a hop that is not an
/// address (`unknown`, an obfuscated name).
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(',').map(|s| s.trim().to_owned()))
            .collect()
    };
    let forwarded = values("forwarded");
    let hops: Vec<Option<IpAddr>> = if forwarded.is_empty() {
        values("x-forwarded-for")
            .iter()
            .map(|h| parse_node(h))
            .collect()
    } else {
        forwarded
            .iter()
            .map(|element| {
                element
                    .split(';')
                    .find_map(|pair| {
                        let (key, value) = pair.split_once('=')?;
                        key.trim().eq_ignore_ascii_case("for").then(|| value.trim())
                    })
                    .and_then(|v| parse_node(v.trim_matches('"')))
            })
            .collect()
    };
    let skip = hops.len().saturating_sub(MAX_HOPS);
    hops.into_iter().skip(skip).collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = node.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    node.strip_prefix('[')
        .and_then(|rest| rest.split(']').next())
        .and_then(|inner| inner.parse().ok())
}

/// `HIPPO_TRUSTED_PROXIES`: comma-separated CIDR blocks or single
/// addresses, e.g. `127.0.0.1/32,::1/128,10.0.0.0/8`.
pub fn parse_trusted_proxies(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("not an address or CIDR block: {s}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn client_addr_headers_ignored_without_trusted_proxies() {
        let h = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(client_address(ip("127.0.0.1"), &h, &[]), ip("127.0.0.1"));
    }

    #[test]
    fn client_addr_headers_ignored_from_an_untrusted_peer() {
        let trusted = parse_trusted_proxies("10.0.0.0/8").unwrap_or_default();
        let h = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(
            client_address(ip("192.0.2.9"), &h, &trusted),
            ip("192.0.2.9")
        );
    }

    #[test]
    fn client_addr_spoofed_chain_is_cut_at_the_first_untrusted_hop() {
        let trusted = parse_trusted_proxies("10.0.0.0/8, ::1").unwrap_or_default();
        // The client wrote "1.1.1.1"; 203.0.113.7 connected to our proxy
        // 10.0.0.2, which connected to the proxy 10.0.0.1 in front of us.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.0.0.2")]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &h, &trusted),
            ip("203.0.113.7")
        );
        let h = headers(&[(
            "forwarded",
            "for=1.1.1.1, for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.2",
        )]);
        assert_eq!(client_address(ip("::1"), &h, &trusted), ip("2001:db8::7"));
        let h = headers(&[("x-forwarded-for", "1.1.1.1, unknown, 10.0.0.2")]);
        assert_eq!(client_address(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.2"));
    }

    #[test]
    fn client_addr_parses_the_trusted_list() {
        assert!(parse_trusted_proxies("127.0.0.1/32,::1/128").is_ok());
        assert!(parse_trusted_proxies("").is_ok_and(|v| v.is_empty()));
        assert!(parse_trusted_proxies("localhost").is_err());
    }
}
