//! Reactive sketches that talk machine-to-machine over WebSockets.
//!
//! A *sketch* is a struct with Arduino-style `setup` and loop code. The
//! [`sketch`] attribute turns its fields into command-line settings; the
//! [`reactive`] attribute marks its loop. Everything else — the WebSocket
//! accept loop, one acknowledgement per message, outbound [`Link`]s, logging
//! and the command line — is ordinary code in this crate.
//!
//! ```no_run
//! use circuit_runtime::prelude::*;
//!
//! /// Answers every message with its length.
//! #[sketch(port = 9000)]
//! struct Counter {
//!     /// Added to every answer.
//!     #[setting(default = 0)]
//!     offset: usize,
//! }
//!
//! impl Counter {
//!     #[reactive]
//!     fn count(&mut self, channel: &str, message: String) -> usize {
//!         out!("{channel}: {message}");
//!         message.len() + self.offset
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     App::new("counter").sketch::<Counter>().run()
//! }
//! ```
//!
//! # Layout
//! Four layers, each a module that imports only from the ones listed before it:
//!
//! - [`base`]: the [`Sketch`], [`Reactive`] and [`Timed`] traits; [`Payload`]
//!   and [`Ack`], what travels on a wire; settings and options; the
//!   [`Error`] type; the [`Shutdown`](base::Shutdown) signal; [`Rng`]; the
//!   process's clock, real or simulated; which cargo features the build has.
//! - [`observe`]: log lines and the thread that writes them, a timer's
//!   progress bar, [`signal`]s and their recording (VCD file, live analyzer
//!   page contents), metrics and health (`--metrics`).
//! - [`net`]: in folders by job: `serve` (the [`Server`](net::Server), one
//!   way for every peer to arrive and be served, whatever carries it, and how
//!   its messages reach the loop), `send` ([`Link`]s and their delivery, the
//!   timer's driver), `find` (addresses, DNS-SD) and `wire` (listeners,
//!   dialing, sockets, in-process wires, TLS, tokens); and the page
//!   server: the analyzer's page, the metrics endpoint.
//! - [`app`]: [`App`] and the command line, every flag defined once in
//!   `flags`, in groups (where a sketch serves or sends, a server's limits,
//!   links, TLS, discovery, replay, the token, how a run is watched) that
//!   each command composes; the process around a run (Ctrl-C / SIGTERM),
//!   replays, the `ls` and `probe` commands; circuits in one folder, one job
//!   a file: their model and the one check of its rules, read from a file or
//!   wired in code ([`Circuit`]), run, and the commands that run them
//!   (`up FILE`); scenario tests of a circuit in simulated time
//!   (`test FILE...`); the only layer with `clap`.
//!
//! Only what other crates use is public: the modules re-export the sketch
//! traits, the options a server or link starts with, [`Server`](net::Server),
//! [`drive`](net::drive), [`Link`], [`parse`](app::parse) and [`App`].
//!
//! # Cargo features
//! The default build is lean: sketches, links, timers, circuit files, the
//! probe, recordings and the analyzer page, over `ws://` and in-process wires.
//! `tls` adds `wss://` and certificates (rustls with ring); `discovery`,
//! sketches found by name over multicast DNS-SD (`--advertise`, `ls`,
//! `up --host`); `dns`, names resolved through a DNS server's SRV records;
//! `sim`, simulated time (`--sim`, replays and `test` scenarios on a virtual
//! clock, a scenario's `regex` expectations); `progress`, a
//! timer's progress bar on a terminal; `full`, all of them. Each part a
//! feature leaves out has a stand-in (`*_absent.rs`) whose every use fails
//! with a message naming the feature, and the command line refuses the
//! flags and URLs that need it with exit 2.
//!
//! The macros' generated code goes through a hidden module that only
//! re-exports the helpers it calls (each topic in a small private module).
//! The test `layers` (`cargo test -p sketches --test layers -- --nocapture`)
//! prints the module graph and fails on a cycle or an import against this order.

#![deny(missing_docs)]

pub mod app;
pub mod base;
mod glue;
pub mod net;
pub mod observe;

#[doc(hidden)]
pub mod __private;

pub use app::{App, Circuit};
pub use base::{Ack, Error, IntoAck, Payload, Reactive, Result, Rng, Sketch, Timed};
pub use circuit_macros::{reactive, sketch};
pub use net::Link;
pub use observe::signal;

/// Everything a sketch file needs: `use circuit_runtime::prelude::*;`.
pub mod prelude {
    pub use crate::{out, reactive, signal, sketch, App, Link, Payload, Rng};
}

/// Logs one line as `[ name ] text`, where `name` is the sketch that runs it.
///
/// Takes the same arguments as [`format!`]. These are per-message lines:
/// `-q` silences them, and nothing is formatted when they are filtered out.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::__private::tracing::info!(target: "circuit::msg", $($arg)*)
    };
}

/// The README's examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
