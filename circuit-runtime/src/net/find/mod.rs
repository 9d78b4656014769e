//! Finding a sketch: where a link, a timer or the probe connects (a URL or a
//! name), and names resolved by DNS-SD over multicast DNS or a DNS server.

pub mod address;
pub mod discovery;
pub mod unicast;
