//! The network layer: serving a sketch, linking to others, driving a timer,
//! and the analyzer's page server. Built on `base` and `observe`.
//!
//! Every side shares one set of socket helpers (`socket`): dialing with
//! backoff, the accept loop, the read buffer, reading an acknowledgement and
//! the polite close.

pub mod address;
pub(crate) mod auth;
pub(crate) mod connection;
pub(crate) mod delivery;
pub mod discovery;
pub(crate) mod dispatch;
pub(crate) mod http;
pub(crate) mod link;
#[cfg(feature = "discovery")]
pub(crate) mod mdns;
#[cfg(not(feature = "discovery"))]
#[path = "mdns_absent.rs"]
pub(crate) mod mdns;
pub mod memory;
pub(crate) mod outbound;
pub(crate) mod server;
pub(crate) mod socket;
pub(crate) mod timer;
#[cfg(feature = "tls")]
pub(crate) mod tls;
#[cfg(not(feature = "tls"))]
#[path = "tls_absent.rs"]
pub(crate) mod tls;
#[cfg(feature = "dns")]
pub(crate) mod unicast;
#[cfg(not(feature = "dns"))]
#[path = "unicast_absent.rs"]
pub(crate) mod unicast;
pub(crate) mod watchdog;
pub(crate) mod web;

pub use link::{Link, LinkError};
pub use server::{serve, Server, Serving};
pub use timer::{drive, Ticking, TimerReport};
pub use web::Analyzer;
