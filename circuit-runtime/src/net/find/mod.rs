//! Finding a sketch: where a link, a timer or the probe connects (a URL or a
//! name), and names resolved by DNS-SD over multicast DNS (`mdns`, the
//! `discovery` feature) or a DNS server (`unicast`, the `dns` feature); when
//! the sketches of a circuit that run elsewhere have ended (`presence`). A
//! build without the feature has the `*_absent.rs` file in its place, whose
//! every use says which feature is missing.

pub(crate) mod address;
// Much of what DNS-SD records say is read by the multicast side alone: a
// build without `discovery` keeps the types (the stand-ins name them) but
// reads only what a DNS server's records give.
#[cfg_attr(not(feature = "discovery"), allow(dead_code))]
pub(crate) mod discovery;
pub(crate) mod gather;
#[cfg(feature = "discovery")]
pub(crate) mod mdns;
#[cfg(not(feature = "discovery"))]
#[path = "mdns_absent.rs"]
pub(crate) mod mdns;
pub(crate) mod presence;
#[cfg(feature = "dns")]
pub(crate) mod unicast;
#[cfg(not(feature = "dns"))]
#[path = "unicast_absent.rs"]
pub(crate) mod unicast;
