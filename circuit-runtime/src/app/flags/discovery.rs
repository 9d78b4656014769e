//! How sketches' names are resolved: `--discovery mdns|dns:SERVER[:PORT]`
//! and `--domain`.

use clap::{Arg, ArgMatches};

use crate::app::flags::{flag, optional};
use crate::base::error::{Error, Result};
use crate::net::find::unicast::{self, DnsServer};

/// `--discovery mdns|dns:SERVER[:PORT]`.
pub(crate) const DISCOVERY: &str = "discovery";
/// `--domain DOMAIN`.
pub(crate) const DOMAIN: &str = "domain";

/// `--discovery` and `--domain`.
pub(crate) fn discovery_args() -> [Arg; 2] {
    [
        flag(DISCOVERY)
            .value_name("mdns|dns:SERVER[:PORT]")
            .help("How sketches' names are resolved: multicast DNS on this network, or SRV records of a DNS server [default: mdns]"),
        flag(DOMAIN)
            .value_name("DOMAIN")
            .help("With --discovery dns:…, the domain of the records (NAME._circuit._tcp.DOMAIN, or a Kubernetes NAMESPACE.svc.cluster.local)"),
    ]
}

/// Applies `--discovery` and `--domain` to this process.
///
/// # Errors
/// [`Error::Setup`] (exit 2) for a malformed choice, or `dns:` in a build
/// without the `dns` feature.
pub(crate) fn apply_discovery(matches: &mut ArgMatches) -> Result<()> {
    let discovery: Option<String> = optional(matches, DISCOVERY);
    let domain: Option<String> = optional(matches, DOMAIN);
    match discovery.as_deref() {
        None | Some("mdns") => {
            if domain.is_some() {
                return Err(Error::Setup(
                    "--domain goes with --discovery dns:SERVER".to_owned(),
                ));
            }
            Ok(())
        }
        Some(choice) => {
            let server =
                DnsServer::parse(choice, domain.as_deref().unwrap_or("")).map_err(Error::Setup)?;
            unicast::use_server(server);
            Ok(())
        }
    }
}
