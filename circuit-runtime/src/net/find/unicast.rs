//! DNS-SD beyond one network segment: multicast stops at a router, ordinary
//! DNS does not. With `--discovery dns:SERVER[:PORT] --domain DOMAIN`, a
//! sketch's name is resolved through that DNS server (with `hickory-resolver`, in
//! the `dns` feature; `unicast_absent.rs` stands in without),
//! in the two forms deployments publish:
//!
//! - RFC 6763 unicast DNS-SD: `NAME._circuit._tcp.DOMAIN` SRV (and TXT), as
//!   Avahi's wide-area mode or any DNS server with these records serves;
//! - Kubernetes: a headless Service `NAME` with a port named `circuit` gets
//!   `_circuit._tcp.NAME.DOMAIN` SRV records, one per pod (DOMAIN being
//!   `NAMESPACE.svc.cluster.local`), so a second replica is a standby.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::Resolver;

use crate::net::find::discovery::Seen;

/// The DNS server this process resolves names through, once chosen.
static SERVER: OnceLock<DnsServer> = OnceLock::new();

/// Resolves every name of this process through `server` from now on,
/// instead of multicast DNS (the first choice stays).
pub fn use_server(server: DnsServer) {
    let _ = SERVER.set(server);
}

/// The DNS server names are resolved through, when one was chosen.
pub fn server() -> Option<&'static DnsServer> {
    SERVER.get()
}

/// Where names are looked up: a DNS server and the domain of the sketches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsServer {
    /// The server's address (port 53 unless given).
    pub server: SocketAddr,
    /// The domain the records live in, such as `example.org` or
    /// `demo.svc.cluster.local`.
    pub domain: String,
}

impl DnsServer {
    /// `dns:SERVER[:PORT]` with `domain`.
    ///
    /// # Errors
    /// When `discovery` is not `dns:` and an IP address with an optional port.
    pub fn parse(discovery: &str, domain: &str) -> Result<DnsServer, String> {
        let Some(server) = discovery.strip_prefix("dns:") else {
            return Err(format!(
                "--discovery {discovery:?}: write `mdns` (the default) or `dns:SERVER[:PORT]`"
            ));
        };
        let server = match server.parse::<SocketAddr>() {
            Ok(address) => address,
            Err(_) => match server.parse::<IpAddr>() {
                Ok(ip) => SocketAddr::new(ip, 53),
                Err(_) => {
                    return Err(format!(
                        "--discovery dns:{server}: the server is an IP address, with an optional port (dns:10.0.0.53 or dns:10.0.0.53:5353)"
                    ))
                }
            },
        };
        let domain = domain.trim_matches('.');
        if domain.is_empty() {
            return Err(
                "--discovery dns:… needs --domain DOMAIN (the domain the sketches' records are in)"
                    .to_owned(),
            );
        }
        Ok(DnsServer {
            server,
            domain: domain.to_owned(),
        })
    }

    /// Every instance of sketch `name` that the records give, in the order to
    /// try them (SRV priority, then weight, highest first, then target name).
    ///
    /// # Errors
    /// When neither form has records for it within `within`, saying what was asked.
    pub async fn resolve(&self, name: &str, within: Duration) -> Result<Vec<Seen>, String> {
        let mut config = NameServerConfig::udp_and_tcp(self.server.ip());
        for connection in &mut config.connections {
            connection.port = self.server.port();
        }
        let mut builder = Resolver::builder_with_config(
            ResolverConfig::from_name_servers(vec![config]),
            TokioRuntimeProvider::default(),
        );
        let options = builder.options_mut();
        options.timeout = within.max(Duration::from_millis(100));
        options.attempts = 1;
        // Resolved again on every connection: a cache would hide a moved sketch.
        options.cache_size = 0;
        let resolver = builder
            .build()
            .map_err(|err| format!("cannot ask {}: {err}", self.server))?;
        let dns_sd = format!("{name}._circuit._tcp.{}.", self.domain);
        let kubernetes = format!("_circuit._tcp.{name}.{}.", self.domain);
        let mut asked = Vec::new();
        for (query, per_pod) in [(dns_sd, false), (kubernetes, true)] {
            match resolver.srv_lookup(query.as_str()).await {
                Ok(lookup) => {
                    let mut targets: Vec<(u16, u16, String, u16)> = lookup
                        .answers()
                        .iter()
                        .filter_map(|record| match &record.data {
                            RData::SRV(srv) => {
                                Some((srv.priority, srv.weight, srv.target.to_ascii(), srv.port))
                            }
                            _ => None,
                        })
                        .filter(|(_, _, target, _)| target != ".")
                        .collect();
                    targets.sort_by(|a, b| {
                        (a.0, std::cmp::Reverse(a.1), &a.2).cmp(&(
                            b.0,
                            std::cmp::Reverse(b.1),
                            &b.2,
                        ))
                    });
                    let txt = self.txt(&resolver, &query).await;
                    let mut found = Vec::new();
                    for (_, _, target, port) in targets {
                        let addrs: Vec<IpAddr> = match resolver.lookup_ip(target.as_str()).await {
                            Ok(ips) => ips.iter().collect(),
                            Err(_) => continue,
                        };
                        let instance = if per_pod {
                            // `pod-a.NAME.NAMESPACE.svc.cluster.local.`: the pod is the instance.
                            let pod = target.split('.').next().unwrap_or(name);
                            format!("{name} ({pod})")
                        } else {
                            name.to_owned()
                        };
                        let field = |key: &str| {
                            txt.iter()
                                .find_map(|entry| entry.strip_prefix(&format!("{key}=")))
                                .unwrap_or("")
                                .to_owned()
                        };
                        found.push(Seen::from_txt(instance, name, addrs, port, field));
                    }
                    if !found.is_empty() {
                        return Ok(found);
                    }
                    asked.push(format!("{query} (no usable target)"));
                }
                Err(err) => asked.push(format!("{query} ({err})")),
            }
        }
        Err(format!(
            "no sketch called {name:?} in DNS at {}: asked {}",
            self.server,
            asked.join(" and ")
        ))
    }

    /// The TXT strings of `query`, if any.
    async fn txt(&self, resolver: &Resolver<TokioRuntimeProvider>, query: &str) -> Vec<String> {
        let Ok(lookup) = resolver.txt_lookup(query).await else {
            return Vec::new();
        };
        lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::TXT(txt) => Some(txt),
                _ => None,
            })
            .flat_map(|txt| txt.txt_data.iter())
            .map(|data| String::from_utf8_lossy(data).into_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dns_server_is_an_address_with_an_optional_port_and_a_domain() {
        let dns = DnsServer::parse("dns:10.0.0.53", "example.org.").unwrap();
        assert_eq!(dns.server, "10.0.0.53:53".parse().unwrap());
        assert_eq!(dns.domain, "example.org");
        let dns = DnsServer::parse("dns:10.0.0.53:5353", "svc").unwrap();
        assert_eq!(dns.server.port(), 5353);
        assert!(DnsServer::parse("dns:ns.example.org", "x").is_err());
        assert!(DnsServer::parse("dns:10.0.0.53", "").is_err());
        assert!(DnsServer::parse("dnss:10.0.0.53", "x").is_err());
    }
}
