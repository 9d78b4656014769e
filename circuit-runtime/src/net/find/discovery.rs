//! DNS Service Discovery (RFC 6763): what a server says about itself in its
//! records (`_circuit._tcp`, a TXT record with `sketch=`, `kind=`, …) and
//! what a resolution finds, whether the records came by multicast DNS
//! (`mdns.rs`) or from a DNS server (`unicast.rs`).
//!
//! Each server is one instance: its name is the sketch's name (DNS-SD renames
//! a second live instance of the same name, `iopin (2)`), and its TXT record
//! says `sketch=…`, so that a name matches either.

use std::net::IpAddr;

/// The service type every server is advertised under.
pub const SERVICE_TYPE: &str = "_circuit._tcp.local.";

/// The service type of the timers of a circuit across hosts, advertised while
/// they run (port 0: they serve nothing), so that the parts they feed see
/// them end.
pub const TIMER_TYPE: &str = "_circuit-timer._tcp.local.";

/// The version of the wire protocol (text frames, one acknowledgement per
/// message, in order), in the `v` TXT key.
pub const PROTOCOL_VERSION: &str = "1";

/// Why a name may have no answer: a server bound to localhost, as by
/// default, is not advertised, and one advertised with `--advertise` is
/// heard on its own machine alone (its address is loopback's, which
/// mDNS does not announce to other machines).
pub const BOUND_TO_LOCALHOST: &str = "a server bound to localhost (the default) is not advertised, or with --advertise to its own machine alone: start it with -s 0.0.0.0 to be found from any machine, or with --advertise from its own";

/// Why an instance seen on loopback alone did not answer: the address is
/// its own machine's, which is another's when it runs elsewhere.
pub const SEEN_ON_LOOPBACK: &str = "advertised on loopback alone (bound to localhost): if it runs on another machine, start it there with -s 0.0.0.0";

/// What a server says about itself.
#[derive(Clone, Debug)]
pub struct Advert {
    /// The sketch's name: its name in the circuit, or its kind.
    pub sketch: String,
    /// Its kind.
    pub kind: String,
    /// The message type its loop takes.
    pub takes: String,
    /// The circuit it is part of, if any.
    pub circuit: Option<String>,
    /// Where it serves.
    pub port: u16,
    /// The address it is bound to; `None` for every address of the host.
    pub ip: Option<IpAddr>,
    /// Whether it asks for a token.
    pub auth: bool,
    /// Whether it speaks TLS.
    pub tls: bool,
}

/// A sketch seen on the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Its DNS-SD instance name, such as `iopin` or `iopin (2)`.
    pub instance: String,
    /// The sketch's name (`sketch=` in its TXT record).
    pub sketch: String,
    /// Its kind.
    pub kind: String,
    /// The message type its loop takes.
    pub takes: String,
    /// The circuit it is part of (empty when none).
    pub circuit: String,
    /// Whether it speaks TLS.
    pub tls: bool,
    /// Whether it asks for a token.
    pub auth: bool,
    /// Its addresses, IPv4 first.
    pub addrs: Vec<IpAddr>,
    /// Its port.
    pub port: u16,
}

impl Seen {
    /// `ws://ADDR:PORT/path` for each of its addresses.
    pub fn urls(&self, path: &str) -> Vec<String> {
        let scheme = if self.tls { "wss" } else { "ws" };
        self.addrs
            .iter()
            .map(|addr| match addr {
                IpAddr::V4(v4) => format!("{scheme}://{v4}:{}{path}", self.port),
                IpAddr::V6(v6) => format!("{scheme}://[{v6}]:{}{path}", self.port),
            })
            .collect()
    }

    /// Whether it answers to `name`: its instance name, or its sketch name.
    pub fn answers_to(&self, name: &str) -> bool {
        self.instance == name || self.sketch == name
    }

    /// Its first address and port, for listings.
    pub fn endpoint(&self) -> String {
        match self.addrs.first() {
            Some(IpAddr::V6(v6)) => format!("[{v6}]:{}", self.port),
            Some(addr) => format!("{addr}:{}", self.port),
            None => format!("?:{}", self.port),
        }
    }

    /// A sketch as its TXT record describes it (`field` reads one key, empty
    /// when absent), whether the record came by multicast or from a DNS
    /// server; without `sketch=`, it is called `unnamed`.
    pub(crate) fn from_txt(
        instance: String,
        unnamed: &str,
        addrs: Vec<IpAddr>,
        port: u16,
        field: impl Fn(&str) -> String,
    ) -> Seen {
        let sketch = match field("sketch") {
            named if named.is_empty() => unnamed.to_owned(),
            named => named,
        };
        Seen {
            instance,
            sketch,
            kind: field("kind"),
            takes: field("takes"),
            circuit: field("circuit"),
            tls: field("tls") == "1",
            auth: field("auth") == "1",
            addrs,
            port,
        }
    }
}

/// A sketch arriving on the network, or leaving it.
#[derive(Clone, Debug)]
pub enum Sighting {
    /// It advertised itself (or was seen for the first time), or changed.
    Arrived(Seen),
    /// It said goodbye, or its records expired: its instance name.
    Left(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_every_address_ipv4_first() {
        let seen = Seen {
            instance: "iopin (2)".into(),
            sketch: "iopin".into(),
            kind: "iopin".into(),
            takes: "String".into(),
            circuit: "demo".into(),
            tls: false,
            auth: false,
            addrs: vec!["10.1.2.3".parse().unwrap(), "fe80::1".parse().unwrap()],
            port: 4242,
        };
        assert_eq!(
            seen.urls("/datafeed"),
            [
                "ws://10.1.2.3:4242/datafeed",
                "ws://[fe80::1]:4242/datafeed"
            ]
        );
        assert!(seen.answers_to("iopin") && seen.answers_to("iopin (2)"));
        assert!(!seen.answers_to("buzzer"));
    }
}
