//! The traits that `#[sketch]` and `#[reactive]` implement for a user's struct.
//!
//! They are public so that a program can start sketches itself (as the
//! `circuit` command does), but nobody needs to implement them by hand.

use std::future::Future;
use std::time::Duration;

use crate::ack::{Frame, Outcome};
use crate::cli::{Options, Setting};
use crate::link::Link;
use crate::shutdown::Shutdown;
use crate::Result;

/// What kind of sketch this is: one that serves, or one driven by a timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Serves WebSocket peers; its loop runs once per message.
    Server,
    /// Connects to a server and sends what its loop returns on every tick.
    Timer,
}

/// A sketch: its name, its settings, its `setup`. Implemented by `#[sketch]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a sketch",
    label = "`#[reactive]` marks the loop of a sketch",
    note = "add `#[sketch]` to `struct {Self}`, or remove `#[reactive]`"
)]
pub trait Sketch: Send + Sized + 'static {
    /// The name in log lines and the subcommand that runs it.
    const NAME: &'static str;
    /// One line saying what the sketch does (the struct's doc comment).
    const ABOUT: &'static str;
    /// Whether it serves or ticks.
    const ROLE: Role;
    /// The default of `-p/--port`: where it serves, or where its server is.
    const PORT: u16;
    /// Whether it draws random numbers, and so takes `--seed N`.
    const SEEDED: bool;
    /// Its own command-line settings, in declaration order.
    const SETTINGS: &'static [Setting];

    /// Builds the sketch from parsed command-line values.
    fn from_settings(matches: &mut clap::ArgMatches) -> Self;

    /// Runs the user's `setup`, once, before serving or ticking.
    ///
    /// # Errors
    /// [`Error::Setup`](crate::Error::Setup) when `setup` rejects the settings.
    fn begin(&mut self) -> Result<()>;

    /// The outbound links among its settings, flushed when the sketch stops.
    fn links(&self) -> Vec<&Link>;

    /// Serves or ticks until done or until `shutdown` fires.
    fn run(
        self,
        options: &Options,
        shutdown: Shutdown,
    ) -> impl Future<Output = Result<()>> + Send + '_;
}

/// A sketch that answers messages. Implemented by `#[sketch]` with `#[reactive]`.
pub trait Reactive: Sketch {
    /// Whether the loop may wait (`async fn`). A loop that never waits is run
    /// by the peer's own task under a short lock, which spares every message a
    /// trip through a queue to the task that owns the sketch and back; its
    /// future must then be ready on the first poll.
    const WAITS: bool = true;

    /// Runs the loop on one frame received on `channel` and returns the acknowledgement,
    /// or [`Unsupported`](crate::Unsupported) when the loop does not take this kind of frame.
    fn react<'a>(
        &'a mut self,
        channel: &'a str,
        frame: Frame<'a>,
    ) -> impl Future<Output = Outcome> + Send + 'a;
}

/// A sketch driven by a timer, such as the clock.
pub trait Timed: Sketch {
    /// The path on the server that ticks are sent to, such as `/datafeed`.
    const CHANNEL: &'static str;

    /// The time between two ticks.
    fn period(&self) -> Duration;

    /// How many ticks it will send, when known (`#[sketch(count = field)]`): the
    /// length of its progress bar.
    fn total(&self) -> Option<u64> {
        None
    }

    /// Runs the loop for tick number `tick`: the message to send, or `None` when done.
    fn tick(&mut self, tick: u64) -> impl Future<Output = Option<String>> + Send + '_;
}
