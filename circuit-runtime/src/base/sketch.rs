//! The traits that `#[sketch]` and `#[reactive]` implement for a user's struct.
//!
//! They are public so that a program can start sketches itself (as the
//! `circuit` command does), but nobody needs to implement them by hand.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::base::durable::OnDisk;
use crate::base::error::Result;
use crate::base::losses::Losses;
use crate::base::message::{Ack, Payload};
use crate::base::options::{LinkOptions, Options, Token};
use crate::base::settings::{Setting, Values};
use crate::base::shutdown::Shutdown;
use crate::base::wiring::MessageType;

/// The default of `-p/--port` when `#[sketch]` names none (the seed's iopin port).
pub const DEFAULT_PORT: u16 = 8765;

/// A sketch: its name, its settings, its `setup`. Implemented by `#[sketch]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a sketch",
    label = "`#[reactive]` marks the loop of a sketch",
    note = "add `#[sketch]` to `struct {Self}`, or remove `#[reactive]`"
)]
pub trait Sketch: Send + Sized + 'static {
    /// How it runs: serving peers (`net::Serving`) or ticking a timer (`net::Ticking`).
    type Role: Runs<Self>;
    /// The name in log lines and the subcommand that runs it.
    const NAME: &'static str;
    /// One line saying what the sketch does (the struct's doc comment).
    const ABOUT: &'static str;
    /// The default of `-p/--port`: where a server serves (`#[sketch(port = N)]`),
    /// or where a timer's server is (`#[sketch(to_port = N)]`; a timer has no port of its own).
    const PORT: u16 = DEFAULT_PORT;
    /// Whether it draws random numbers, and so takes `--seed N`.
    const SEEDED: bool = false;
    /// Its own settings, in declaration order.
    const SETTINGS: &'static [Setting] = &[];
    /// Whether it holds links, and so takes the flags that say how links deliver.
    const LINKED: bool = false;

    /// Builds the sketch from its settings' values (parsed from flags or a file).
    fn from_settings(values: &mut Values) -> Self;

    /// Runs the user's `setup`, once, before serving or ticking.
    ///
    /// # Errors
    /// [`Error::Setup`](crate::base::Error::Setup) when `setup` rejects the settings.
    fn begin(&mut self) -> Result<()>;

    /// The outbound links among its settings, flushed when the sketch stops.
    fn links(&self) -> Vec<&dyn Outbound> {
        Vec::new()
    }

    /// The links that field `field` holds (one, several, or none); none for a
    /// field that holds no links.
    fn links_of(&self, field: &str) -> Vec<&dyn Outbound> {
        let _ = field;
        Vec::new()
    }
}

/// How the sketches of a role run: implemented by `net::Serving` (for
/// [`Reactive`] sketches) and `net::Ticking` (for [`Timed`] ones).
pub trait Runs<S>: 'static {
    /// Whether the sketch serves peers (and so has the server's flags).
    const SERVES: bool;
    /// What a server's loop takes; `None` for a timer.
    const TAKES: Option<MessageType> = None;
    /// What a timer sends; `None` for a server (its links say what they send).
    const SENDS: Option<MessageType> = None;

    /// Runs `sketch` until it is done or `shutdown` fires.
    fn run(
        sketch: S,
        options: &Options,
        shutdown: Shutdown,
    ) -> impl Future<Output = Result<()>> + Send + '_;

    /// Starts `sketch` as one part of a circuit: a server on `listener`, bound
    /// beforehand so that the others can be wired to its port; a timer at once.
    fn start(sketch: S, options: Options, listener: Option<std::net::TcpListener>) -> Starting;

    /// Feeds `inputs` (when, from now; the path; the message) to the sketch's
    /// loop at their times, without any socket, as a replay does. A timer
    /// has no inputs: only a sketch that serves can be replayed.
    fn replay(sketch: S, inputs: Vec<(Duration, String, String)>) -> Replaying {
        drop((sketch, inputs));
        Box::pin(async {
            Err(crate::base::error::Error::Setup(
                "only a sketch that serves has inputs to replay; a timer has none".to_owned(),
            ))
        })
    }
}

/// A replay on its way (see [`Runs::replay`]).
pub type Replaying = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

/// A sketch on its way to running as part of a circuit (see [`Runs::start`]).
pub type Starting = Pin<Box<dyn Future<Output = Result<Box<dyn Running>>> + Send>>;

/// A sketch started as one part of a circuit.
pub trait Running: Send {
    /// Resolves when the sketch is done by itself (a timer after its last
    /// tick); never, for a server.
    fn done(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;

    /// Stops it (a server delivers what its links hold first) and says how its run went.
    fn stop(self: Box<Self>) -> Pin<Box<dyn Future<Output = Result<RunReport>> + Send>>;
}

/// How one sketch of a circuit did, for the circuit's summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Messages it sent: a timer's ticks.
    pub sent: u64,
    /// Acknowledgements it received for them.
    pub acked: u64,
    /// What it lost: its ticks never acknowledged, and what its links did not deliver.
    pub lost: Losses,
}

/// A sketch that answers messages. Implemented by `#[sketch]` with `#[reactive]`.
pub trait Reactive: Sketch {
    /// What its loop is: whether it may wait, and the message type it takes.
    const LOOP: Loop;

    /// Runs the loop on one message received on `channel` and returns the
    /// acknowledgement, or [`Ack::Unsupported`] when the loop does not take
    /// this kind of frame.
    fn react<'a>(
        &'a mut self,
        channel: &'a str,
        message: &'a Payload,
    ) -> impl Future<Output = Ack> + Send + 'a;
}

/// A reactive sketch's loop, as the runtime sees it.
#[derive(Clone, Copy, Debug)]
pub struct Loop {
    /// Whether it may wait (it is an `async fn`). A loop that never waits is
    /// run by the peer's own task under a short lock, which spares every
    /// message a trip through a queue to the task that owns the sketch and
    /// back; its future must then be ready on the first poll.
    pub waits: bool,
    /// The message type it takes, which links to it must send.
    pub takes: MessageType,
}

/// A sketch driven by a timer, such as the clock.
pub trait Timed: Sketch {
    /// The path on the server that ticks are sent to, such as `/datafeed`.
    const CHANNEL: &'static str;
    /// The message type of its ticks, which its target's loop must take.
    const SENDS: MessageType = MessageType::ANY_TEXT;

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

/// An outbound connection that a sketch holds as a setting (a `Link`, or
/// several in a `Vec` or an `Option`): the runtime configures it at start and
/// stops it at the end.
pub trait Outbound: Send + Sync {
    /// Where it sends, for log lines.
    fn target(&self) -> &str;

    /// Takes the sketch's link options and token, from the next connection on.
    fn configure(&self, options: &LinkOptions, token: Option<&Token>);

    /// Keeps its last delivered message and sends it first on every new
    /// connection (`--retain`); only before its first message.
    fn retain(&self);

    /// Lets a `send` waiting for room give up once `shutdown` fires and
    /// `within` (`--stop-timeout`) has passed, so that the sketch can stop.
    fn release_on(&self, _shutdown: &Shutdown, _within: Duration) {}

    /// Keeps what it is given and not yet acknowledged in a file under
    /// `dir` named after `sketch` and its setting (`--spool`), up to `max`
    /// bytes of it (`--spool-max`) before a send waits.
    ///
    /// # Errors
    /// The file cannot be opened, is locked by another process, or is
    /// another link's: the message names it.
    fn spool_in(&self, _dir: &std::path::Path, _sketch: &str, _max: u64) -> Result<(), String> {
        Ok(())
    }

    /// With a spool, how far its messages got to disk, which the sketch's
    /// acknowledgements wait for (see `base::durable`); `None` without one,
    /// so that acknowledging costs nothing more.
    fn on_disk(&self) -> Option<std::sync::Arc<OnDisk>> {
        None
    }

    /// Delivers what it still holds, then closes the connection.
    fn finish(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;

    /// What it did so far, for the end-of-run line.
    fn report(&self) -> LinkReport;

    /// Shows its counts to every scrape of `--metrics` as a link of `sketch`.
    fn meter(&self, _sketch: &str) {}
}

/// What a link did with the messages it was given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkReport {
    /// Messages the peer acknowledged.
    pub delivered: u64,
    /// Messages the peer answered with an error (`error: …`): it got them and said no.
    pub refused: u64,
    /// Messages given up on after `--link-attempts` failed connections.
    pub dead_lettered: u64,
    /// Messages that found the queue full while the peer was down.
    pub overflowed: u64,
    /// Messages still held (queued or unacknowledged).
    pub held: u64,
    /// Acknowledged resends of the retained message (`--retain`), one per new
    /// connection after the first: not counted in `delivered`.
    pub retained_resends: u64,
    /// Messages an earlier run left unacknowledged in the link's spool
    /// (`--spool`), sent again first: counted in the others too.
    pub resent: u64,
}

impl LinkReport {
    /// What the link lost: dead-lettered, dropped or still held. A message
    /// the peer refused is not lost: the peer got it, and its answer was no.
    pub fn lost(&self) -> Losses {
        Losses {
            dead_lettered: self.dead_lettered,
            dropped: self.overflowed,
            held: self.held,
            unacknowledged: 0,
        }
    }
}
