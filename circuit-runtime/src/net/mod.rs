//! The network layer: serving a sketch, sending to other sketches, finding
//! them, and the connections that carry it all, plus the analyzer's page
//! server. Built on `base` and `observe`.
//!
//! Each folder has one job:
//!
//! - `serve`: a server sketch, how its peers arrive and are served (the same
//!   way over TCP, TLS or an in-process wire), and how their messages reach
//!   its loop;
//! - `send`: what sends to a server: a sketch's [`Link`]s and their delivery,
//!   and the driver of a timer sketch;
//! - `find`: where a sketch is: addresses and names, resolved by DNS-SD over
//!   multicast or over a DNS server;
//! - `wire`: the connections themselves: WebSocket sockets (dialed, read,
//!   closed politely), in-process wires, TLS, tokens on the handshake, a
//!   peer's silence, and just enough HTTP for a page;
//!
//! and `web` serves the live analyzer page.

pub(crate) mod find;
pub(crate) mod send;
pub(crate) mod serve;
pub(crate) mod web;
pub(crate) mod wire;

pub use find::{address, discovery, unicast};
pub use send::link::{Link, LinkError};
pub use send::timer::{drive, Ticking, TimerReport};
pub use serve::server::{serve, Server, Serving};
pub use web::Analyzer;
pub use wire::{memory, tls};
