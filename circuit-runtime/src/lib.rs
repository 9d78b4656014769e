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
//! - `sketch`: the [`Sketch`], [`Reactive`] and [`Timed`] traits that the macros implement.
//! - `cli`: the command line: one subcommand per sketch, settings as flags, exit codes.
//! - `server`: binds a port, accepts connections, and hands the sketch back when stopped.
//! - `dispatch`: how a message reaches the loop: at once, or queued for an `async fn` loop.
//! - `connection`: one WebSocket peer: receive, call the loop, acknowledge, in order.
//! - `timer`: drives a timer sketch (the clock): tick, send, wait for the acknowledgement.
//! - `link`: an outbound link to another sketch, delivered in order in the background.
//! - `trace`: signals over time, recorded for a VCD file and for the live analyzer.
//! - `analyzer`: the live logic-analyzer page and its event stream.
//! - `ack`: what a loop may take as a message and return as an acknowledgement.
//! - `auth`: shared-secret tokens: who may connect, and how clients say who they are.
//! - `log`: the `[ name ] text` log format on top of `tracing`.
//! - `progress`: a timer sketch's progress bar, on a terminal only.
//! - `probe`: the `probe` subcommand: send messages to any sketch by hand.
//! - `shutdown`: Ctrl-C / SIGTERM and the signal that tells every task to stop.
//! - `rng`: a seedable random source for sketches that draw random numbers.
//! - `error`: the one error type.

#![deny(missing_docs)]

mod ack;
mod analyzer;
mod auth;
mod cli;
mod client;
mod connection;
mod dispatch;
mod error;
mod link;
mod log;
mod probe;
mod progress;
mod rng;
mod server;
mod shutdown;
mod sketch;
mod timer;
mod trace;

#[doc(hidden)]
pub mod __private;

pub use ack::{Frame, FromBytes, IntoAck, Outcome, Payload, Reply, Unsupported};
pub use analyzer::{Analyzer, Counter, Panel};
pub use auth::Token;
pub use circuit_macros::{reactive, sketch};
pub use cli::{
    command, parse, quiet_arg, run_until_interrupted, seed_arg, vcd_arg, App, Limits, Options,
    Setting,
};
pub use error::{Error, Result};
pub use link::Link;
pub use probe::{probe_command, run_probe};
pub use rng::Rng;
pub use server::{serve, Server};
pub use shutdown::Shutdown;
pub use sketch::{Reactive, Role, Sketch, Timed};
pub use timer::{drive, TimerReport};
pub use trace::{signal, Change, Event, Level, Recording, Totals, Trace, Value, Watch};

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
