//! The connections themselves, which every side shares: where peers arrive
//! (listeners), dialing with backoff, a WebSocket connection (read, closed
//! politely), in-process wires, TLS, tokens on the handshake, telling when a
//! peer is silent, and just enough HTTP for one page.

pub(crate) mod auth;
pub(crate) mod dial;
pub(crate) mod http;
pub(crate) mod listener;
pub mod memory;
pub(crate) mod socket;
pub mod tls;
pub(crate) mod watchdog;
