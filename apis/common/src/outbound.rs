//! The server's outbound host policy (run.yaml `server.outbound`, a llama-stack-rs extension):
//! which hosts a provider may connect to when the *client* chooses the URL (an MCP tool group's
//! `mcp_endpoint`), so that the server cannot be turned against cloud metadata endpoints or other
//! hosts only it can reach (SSRF). Pure logic: callers resolve names and ask about every address.
//!
//! Entries are exact host names (`mcp.example.com`), `*.suffix` wildcards (subdomains only), IP
//! addresses and CIDRs (`10.0.0.0/8`, `fd00::/8`). Deny wins over allow; a non-empty allow list
//! allows only what it names (a host name by name, or else every address it resolves to by IP).
//! Unless `allow_link_local` is set, link-local addresses (169.254.0.0/16, fe80::/10) and the
//! well-known metadata endpoints (169.254.169.254, fd00:ec2::254, `metadata.google.internal`)
//! are refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::Error;

/// Host names refused unless `allow_link_local` is set.
const METADATA_NAMES: &[&str] = &["metadata.google.internal"];
/// Addresses refused unless `allow_link_local` is set (besides the link-local ranges).
const METADATA_ADDRS: &[IpAddr] = &[
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
];

/// One `allow_hosts` or `deny_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// An exact host name, lowercase, without a trailing dot.
    Name(String),
    /// `*.suffix`: any subdomain of `suffix` (stored as `.suffix`).
    Suffix(String),
    /// An address (a /32 or /128) or a CIDR block.
    Net(IpAddr, u8),
}

impl HostPattern {
    /// Parses an entry; the error says what is wrong with it.
    pub fn parse(entry: &str) -> Result<HostPattern, String> {
        let s = entry.trim();
        if s.is_empty() {
            return Err(
                "an empty entry: expected a host name, `*.suffix`, an IP address or a CIDR".into(),
            );
        }
        if let Some((addr, bits)) = s.split_once('/') {
            let bad = || format!("`{s}` is not a host name, `*.suffix`, an IP address or a CIDR");
            let ip: IpAddr = addr
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| bad())?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits: u8 = bits.parse().ok().filter(|b| *b <= max).ok_or_else(|| {
                format!("`{s}` is not a CIDR: the prefix length must be 0 to {max}")
            })?;
            return Ok(HostPattern::Net(
                ip.to_canonical(),
                if ip.is_ipv6() && ip.to_canonical().is_ipv4() {
                    bits.saturating_sub(96)
                } else {
                    bits
                },
            ));
        }
        if let Some(ip) = parse_ip(s) {
            let bits = if ip.is_ipv4() { 32 } else { 128 };
            return Ok(HostPattern::Net(ip, bits));
        }
        let (wild, name) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let name = normalize(name);
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if name.is_empty() || !name.split('.').all(label_ok) {
            return Err(format!(
                "`{s}` is not a host name, `*.suffix`, an IP address or a CIDR"
            ));
        }
        Ok(if wild {
            HostPattern::Suffix(format!(".{name}"))
        } else {
            HostPattern::Name(name)
        })
    }

    fn matches_name(&self, name: &str) -> bool {
        match self {
            HostPattern::Name(n) => n == name,
            HostPattern::Suffix(suffix) => {
                name.len() > suffix.len() && name.ends_with(suffix.as_str())
            }
            HostPattern::Net(..) => false,
        }
    }

    fn matches_ip(&self, ip: IpAddr) -> bool {
        let HostPattern::Net(net, bits) = self else {
            return false;
        };
        match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), *bits),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), *bits),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let bits = usize::from(bits);
    let (whole, rest) = (bits / 8, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[whole] & mask == b[whole] & mask
    }
}

/// Lowercase, without a trailing dot.
fn normalize(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// An IP literal, also in URL brackets; IPv4-mapped IPv6 addresses become IPv4.
fn parse_ip(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// Which hosts outbound connections chosen by clients may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundPolicy {
    allow: Vec<HostPattern>,
    deny: Vec<HostPattern>,
    allow_link_local: bool,
}

/// No `server.outbound`: link-local addresses and metadata endpoints refused, the rest allowed.
impl Default for OutboundPolicy {
    fn default() -> Self {
        OutboundPolicy {
            allow: Vec::new(),
            deny: Vec::new(),
            allow_link_local: false,
        }
    }
}

impl OutboundPolicy {
    /// Allows every host, metadata endpoints included (for tests and embedders that check
    /// nothing; the server always builds providers with its configured policy).
    pub fn permissive() -> Self {
        OutboundPolicy {
            allow: Vec::new(),
            deny: Vec::new(),
            allow_link_local: true,
        }
    }

    /// The policy of a `server.outbound` section; an error names the bad entry
    /// (`allow_hosts[1]: ...`).
    pub fn new(
        allow_hosts: &[String],
        deny_hosts: &[String],
        allow_link_local: bool,
    ) -> Result<Self, String> {
        let parse = |key: &str, list: &[String]| {
            list.iter()
                .enumerate()
                .map(|(i, e)| HostPattern::parse(e).map_err(|m| format!("{key}[{i}]: {m}")))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(OutboundPolicy {
            allow: parse("allow_hosts", allow_hosts)?,
            deny: parse("deny_hosts", deny_hosts)?,
            allow_link_local,
        })
    }

    /// What can be decided before resolving `host` (a host name or an IP literal): refusals by
    /// name, and everything about an IP literal.
    pub fn check_host(&self, host: &str) -> crate::Result<()> {
        match parse_ip(host) {
            Some(ip) => self.check(host, &[ip]),
            None => self.check_name(&normalize(host), host),
        }
    }

    /// The whole decision for `host` given every address it resolved to (for an IP literal,
    /// itself): refused when the name or any address is denied, or when an allow list names
    /// neither the host nor every one of its addresses.
    pub fn check(&self, host: &str, addrs: &[IpAddr]) -> crate::Result<()> {
        let literal = parse_ip(host);
        let name = normalize(host);
        if literal.is_none() {
            self.check_name(&name, host)?;
        }
        let addrs: Vec<IpAddr> = literal
            .into_iter()
            .chain(addrs.iter().map(|a| a.to_canonical()))
            .collect();
        for ip in &addrs {
            let shown = if literal.is_some() {
                format!("`{host}`")
            } else {
                format!("`{host}` (it resolves to {ip})")
            };
            if self.deny.iter().any(|p| p.matches_ip(*ip)) {
                return Err(refused(&shown, "it is in server.outbound.deny_hosts"));
            }
            if !self.allow_link_local && (is_link_local(*ip) || METADATA_ADDRS.contains(ip)) {
                return Err(refused(&shown, BUILT_IN));
            }
        }
        if self.allow.is_empty() || self.allow.iter().any(|p| p.matches_name(&name)) {
            return Ok(());
        }
        if !addrs.is_empty()
            && addrs
                .iter()
                .all(|ip| self.allow.iter().any(|p| p.matches_ip(*ip)))
        {
            return Ok(());
        }
        Err(refused(
            &format!("`{host}`"),
            "it is not in server.outbound.allow_hosts",
        ))
    }

    fn check_name(&self, name: &str, host: &str) -> crate::Result<()> {
        if self.deny.iter().any(|p| p.matches_name(name)) {
            return Err(refused(
                &format!("`{host}`"),
                "it is in server.outbound.deny_hosts",
            ));
        }
        if !self.allow_link_local && METADATA_NAMES.contains(&name) {
            return Err(refused(&format!("`{host}`"), BUILT_IN));
        }
        Ok(())
    }
}

const BUILT_IN: &str = "link-local addresses and cloud metadata endpoints are refused unless run.yaml sets \
                        server.outbound.allow_link_local: true";

fn refused(host: &str, why: &str) -> Error {
    Error::invalid(format!(
        "outbound connections to {host} are refused by the server's outbound policy: {why}"
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn policy(allow: &[&str], deny: &[&str]) -> OutboundPolicy {
        let s = |l: &[&str]| l.iter().map(|e| e.to_string()).collect::<Vec<_>>();
        OutboundPolicy::new(&s(allow), &s(deny), false).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_refuse_link_local_and_metadata_and_allow_the_rest() {
        let p = OutboundPolicy::default();
        for host in [
            "169.254.169.254",
            "169.254.1.2",
            "[fe80::1]",
            "fe80::1",
            "[fd00:ec2::254]",
            "metadata.google.internal",
            "Metadata.Google.Internal.",
            "[::ffff:169.254.169.254]",
        ] {
            let e = p.check_host(host).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidRequest);
            assert!(
                e.message().contains("server.outbound.allow_link_local"),
                "{host}: {e}"
            );
        }
        for host in ["localhost", "127.0.0.1", "[::1]", "10.0.0.1", "example.com"] {
            p.check_host(host).unwrap();
        }
        // A name that resolves to a metadata address is refused by its address.
        let e = p
            .check(
                "evil.example",
                &[ip("93.184.216.34"), ip("169.254.169.254")],
            )
            .unwrap_err();
        assert!(
            e.message()
                .contains("`evil.example` (it resolves to 169.254.169.254)"),
            "{e}"
        );
        p.check("localhost", &[ip("127.0.0.1"), ip("::1")]).unwrap();
        // allow_link_local lifts the built-in refusals; permissive allows everything.
        let open = OutboundPolicy::new(&[], &[], true).unwrap();
        open.check_host("169.254.169.254").unwrap();
        open.check_host("metadata.google.internal").unwrap();
        OutboundPolicy::permissive()
            .check("x", &[ip("fe80::1")])
            .unwrap();
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        let p = policy(&[], &["*.internal.example", "exact.example"]);
        assert!(p.check_host("a.internal.example").is_err());
        assert!(p.check_host("b.a.INTERNAL.example").is_err());
        p.check_host("internal.example").unwrap();
        p.check_host("xinternal.example").unwrap();
        assert!(p.check_host("exact.example").is_err());
        p.check_host("sub.exact.example").unwrap();
    }

    #[test]
    fn cidrs_match_addresses_of_either_family() {
        let p = policy(
            &[],
            &["127.0.0.0/8", "10.1.0.0/16", "fd00::/8", "192.0.2.7"],
        );
        assert!(p.check_host("127.3.4.5").is_err());
        assert!(p.check_host("10.1.255.1").is_err());
        p.check_host("10.2.0.1").unwrap();
        assert!(p.check_host("[fd12::1]").is_err());
        assert!(p.check_host("192.0.2.7").is_err());
        p.check_host("192.0.2.8").unwrap();
        assert!(p.check_host("[::ffff:127.0.0.1]").is_err());
        // By name nothing is denied; by its addresses it is.
        p.check_host("localhost").unwrap();
        let e = p.check("localhost", &[ip("127.0.0.1")]).unwrap_err();
        assert!(e.message().contains("server.outbound.deny_hosts"), "{e}");
        assert!(policy(&[], &["0.0.0.0/0"]).check_host("8.8.8.8").is_err());
    }

    #[test]
    fn an_allow_list_allows_only_what_it_names_and_deny_wins() {
        let p = policy(
            &["mcp.example.com", "*.tools.example", "10.0.0.0/8"],
            &["bad.tools.example", "10.9.0.0/16"],
        );
        p.check("mcp.example.com", &[ip("203.0.113.5")]).unwrap();
        p.check("a.tools.example", &[ip("203.0.113.6")]).unwrap();
        p.check_host("10.1.2.3").unwrap();
        p.check("internal-name", &[ip("10.1.2.3")]).unwrap();
        let e = p.check("other.example", &[ip("203.0.113.7")]).unwrap_err();
        assert!(e.message().contains("server.outbound.allow_hosts"), "{e}");
        assert!(
            p.check("internal-name", &[ip("10.1.2.3"), ip("203.0.113.7")])
                .is_err()
        );
        assert!(
            p.check_host("localhost").is_ok(),
            "undecided before resolution"
        );
        assert!(p.check("localhost", &[ip("127.0.0.1")]).is_err());
        // Deny wins over allow, by name and by address.
        assert!(p.check_host("bad.tools.example").is_err());
        assert!(p.check_host("10.9.0.1").is_err());
        assert!(p.check("mcp.example.com", &[ip("10.9.1.1")]).is_err());
        // An allow list never lifts the built-in refusals.
        assert!(
            policy(&["169.254.0.0/16"], &[])
                .check_host("169.254.169.254")
                .is_err()
        );
    }

    #[test]
    fn bad_entries_are_named() {
        let s = |l: &[&str]| l.iter().map(|e| e.to_string()).collect::<Vec<_>>();
        let e = OutboundPolicy::new(&s(&["ok.example"]), &s(&["fine", "10.0.0.0/33"]), false)
            .unwrap_err();
        assert!(
            e.starts_with("deny_hosts[1]: `10.0.0.0/33` is not a CIDR"),
            "{e}"
        );
        let e = OutboundPolicy::new(&s(&["", "x"]), &[], false).unwrap_err();
        assert!(e.starts_with("allow_hosts[0]: an empty entry"), "{e}");
        for bad in ["http://x", "a b", "*.", "x/8", "*"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            HostPattern::parse("::ffff:10.0.0.0/104").unwrap(),
            HostPattern::Net(ip("10.0.0.0"), 8)
        );
    }
}
