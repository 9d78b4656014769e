//! The connections themselves, which every side shares: WebSocket sockets
//! (dialed with backoff, read, closed politely), in-process wires, TLS,
//! tokens on the handshake, telling when a peer is silent, and just enough
//! HTTP for one page.

pub(crate) mod auth;
pub(crate) mod dial;
pub(crate) mod http;
pub(crate) mod listener;
pub mod memory;
pub(crate) mod socket;
pub mod tls;
pub(crate) mod watchdog;
