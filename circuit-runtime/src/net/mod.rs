//! The network layer: serving a sketch, sending to other sketches, finding
//! them, and the connections that carry it all, plus the analyzer's page
//! server. Built on `base` and `observe`.
//!
//! Each folder has one job:
//!
//! - `serve`: a server sketch ([`Server`]). Its peers arrive on a listener
//!   (TCP, TLS or in-process, see `wire::listener`), and every one goes the
//!   same way: one accept loop, one entry that takes a place and asks the
//!   door (`--max-clients`, the token), then a `Peer`'s conversation
//!   (keepalive, acknowledgement batching, close codes, each on its own),
//!   its messages reaching the loop through `dispatch`;
//! - `send`: what sends to a server: a sketch's [`Link`]s and the task that
//!   delivers for each, and the driver of a timer sketch ([`drive`]);
//! - `find`: where a sketch is: addresses and names, resolved by DNS-SD over
//!   multicast or over a DNS server;
//! - `wire`: the connections themselves, which every side shares: listeners,
//!   dialing, a WebSocket connection and its polite close, in-process wires,
//!   TLS, tokens on the handshake, a peer's silence;
//!
//! - `mqtt`: MQTT brokers: their URLs, links that publish to one, sketches
//!   fed by its topics, signals published on it;
//!
//! and `web` serves the framework's own pages (on hyper): the live analyzer page.

pub(crate) mod find;
pub(crate) mod mqtt;
pub(crate) mod send;
pub(crate) mod serve;
pub(crate) mod web;
pub(crate) mod wire;

pub use send::link::{Link, LinkError};
pub use send::timer::{drive, TimerReport};
pub use serve::server::{serve, Server};
