//! The server's outbound policy (run.yaml `server.outbound`) applied to MCP endpoints, which
//! clients choose: a refused host answers 400 before any connection is opened.
//!
//! [`check`] runs before every operation (and at registration): it refuses by host name, then
//! resolves the name and refuses when any address it resolves to is denied (a DNS name pointing
//! at a metadata address); this is what answers 400. The HTTP client then resolves through
//! [`PolicyResolver`], which applies the same check to the very addresses it connects to, so a
//! name that resolves differently the second time (DNS rebinding) is still refused — the
//! addresses connected to are pinned to the addresses checked. IP literals skip resolution and
//! are decided by themselves: redirects by [`redirect_policy`], and the message endpoint an SSE
//! server names by `HeaderedClient` (`http.rs`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use lls_api_common::{Error, OutboundPolicy, Result};
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Refuses `endpoint` when the policy denies its host or any address the host resolves to.
/// A name that does not resolve is left to the connection attempt, which reports it (and
/// resolves through [`PolicyResolver`] anyway).
pub(crate) async fn check(policy: &OutboundPolicy, endpoint: &str) -> Result<()> {
    let url = Url::parse(endpoint).map_err(|_| Error::invalid(format!("Endpoint {endpoint} is not a valid HTTP(S) URL")))?;
    let Some(host) = url.host_str() else { return Ok(()) };
    let param = |e: Error| e.with_param("mcp_endpoint");
    policy.check_host(host).map_err(param)?;
    let literal = host.starts_with('[') || host.parse::<IpAddr>().is_ok();
    if !literal {
        let port = url.port_or_known_default().unwrap_or(80);
        if let Ok(addrs) = tokio::net::lookup_host((host, port)).await {
            let ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
            policy.check(host, &ips).map_err(param)?;
        }
    }
    Ok(())
}

/// reqwest's resolver for the MCP client: the system resolver, with every answer checked
/// against the policy, so the addresses connected to are the addresses checked.
#[derive(Debug)]
pub(crate) struct PolicyResolver(pub(crate) Arc<OutboundPolicy>);

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
            policy.check(&host, &ips).map_err(|e| std::io::Error::other(e.message().to_owned()))?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// reqwest's default (at most 10 redirects), refusing redirects to denied hosts.
pub(crate) fn redirect_policy(policy: Arc<OutboundPolicy>) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let refused = attempt.url().host_str().and_then(|h| policy.check_host(h).err());
        match refused {
            Some(e) => attempt.error(e.message().to_owned()),
            None if attempt.previous().len() >= 10 => attempt.error("too many redirects"),
            None => attempt.follow(),
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[tokio::test]
    async fn the_client_resolver_refuses_denied_addresses() {
        let deny = PolicyResolver(Arc::new(OutboundPolicy::new(&[], &["127.0.0.0/8".into(), "::1".into()], false).unwrap()));
        let e = deny.resolve(Name::from_str("localhost").unwrap()).await.err().unwrap();
        assert!(e.to_string().contains("server.outbound.deny_hosts"), "{e}");
        let allow = PolicyResolver(Arc::new(OutboundPolicy::default()));
        assert!(allow.resolve(Name::from_str("localhost").unwrap()).await.unwrap().next().is_some());
    }
}
