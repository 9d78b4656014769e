//! What stands in for `unicast.rs` in a build without circuit-runtime's
//! `dns` feature: `--discovery dns:SERVER` says which feature is missing.

use std::time::Duration;

use crate::base::features::{missing, Feature};
use crate::net::find::discovery::Seen;

/// No DNS server can be chosen in this build: the type has no values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsServer {}

impl DnsServer {
    /// Refuses `dns:SERVER`, naming the feature.
    ///
    /// # Errors
    /// Always: `dns:` needs the feature, anything else is no choice at all.
    pub fn parse(discovery: &str, _domain: &str) -> Result<DnsServer, String> {
        if discovery.starts_with("dns:") {
            Err(missing(Feature::Dns, "--discovery dns:SERVER"))
        } else {
            Err(format!(
                "--discovery {discovery:?}: write `mdns` (the default) or `dns:SERVER[:PORT]`"
            ))
        }
    }

    /// Never called: there is no server to ask.
    ///
    /// # Errors
    /// None: it cannot run.
    pub async fn resolve(&self, _name: &str, _within: Duration) -> Result<Vec<Seen>, String> {
        match *self {}
    }
}

/// Never called: no server can be made.
pub fn use_server(server: DnsServer) {
    match server {}
}

/// No DNS server is ever chosen in this build.
pub fn server() -> Option<&'static DnsServer> {
    None
}
