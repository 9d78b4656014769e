//! The connections themselves, which every side shares: where peers arrive
//! (listeners), dialing with backoff, a WebSocket connection (read, closed
//! politely), in-process wires, TLS, tokens and a link's place in its stream on the
//! handshake, telling when a
//! peer is silent. TLS is the `tls`
//! feature; a build without it has `tls_absent.rs` in its place.

pub(crate) mod auth;
pub(crate) mod dial;
pub(crate) mod listener;
pub(crate) mod memory;
pub(crate) mod resume;
pub(crate) mod signal_frames;
pub(crate) mod socket;
#[cfg(feature = "tls")]
pub(crate) mod tls;
#[cfg(not(feature = "tls"))]
#[path = "tls_absent.rs"]
pub(crate) mod tls;
pub(crate) mod watchdog;
