//! The client address recorded on a session.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr};

/// The client's address: the socket peer, unless the peer is a trusted proxy, in which case
/// `X-Forwarded-For` is walked from the right past trusted hops. An untrusted peer's header is
/// ignored, so a client cannot choose the address it is recorded under.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut last = peer;
    for hop in header.rsplit(',') {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            return last;
        };
        last = ip;
        if !is_trusted(&ip) {
            return ip;
        }
    }
    last
}

/// Better Auth's stored form (docs/better-auth-compat.md §3.2): IPv4 verbatim, IPv6 masked to
/// /64 and fully expanded.
pub fn format_for_storage(ip: IpAddr) -> String {
    let ip = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let masked = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0).segments();
            masked
                .iter()
                .map(|seg| format!("{seg:04x}"))
                .collect::<Vec<_>>()
                .join(":")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_masked_and_expanded_like_better_auth() {
        let ip: IpAddr = "2001:db8:abcd:12:3456::1".parse().unwrap();
        assert_eq!(
            format_for_storage(ip),
            "2001:0db8:abcd:0012:0000:0000:0000:0000"
        );
        assert_eq!(
            format_for_storage("203.0.113.7".parse().unwrap()),
            "203.0.113.7"
        );
    }

    #[test]
    fn forwarded_for_is_only_honoured_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let xff = Some("198.51.100.9, 10.0.0.7");
        assert_eq!(
            client_ip(proxy, xff, &trusted),
            "198.51.100.9".parse::<IpAddr>().unwrap()
        );
        let stranger: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(client_ip(stranger, xff, &trusted), stranger);
        assert_eq!(client_ip(proxy, xff, &[]), proxy);
        assert_eq!(client_ip(proxy, Some("junk"), &trusted), proxy);
    }
}
