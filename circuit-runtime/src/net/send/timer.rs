//! Drives a timer sketch such as the clock: on every tick, ask the loop for a
//! message, send it to the server, and wait for the acknowledgement.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::SinkExt;
use tokio::time::{sleep, timeout, Instant, Sleep};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::base::error::{Error, Result};
use crate::base::losses::Losses;
use crate::base::options::{Options, Token};
use crate::base::shutdown::{Shutdown, Stopping};
use crate::base::sketch::{RunReport, Running, Runs, Starting, Timed};
use crate::base::wiring::MessageType;
use crate::net::find::address::{Address, Dialer};
use crate::net::send::outbound::{configure, drain};
use crate::net::wire::dial::DialError;
use crate::net::wire::socket::{close_politely, read_ack, Socket};
use crate::net::wire::watchdog::Watchdog;
use crate::observe::log;
use crate::observe::progress::Progress;
use crate::observe::signal::signal;

/// The role of a sketch driven by a timer: `type Role = Ticking`.
pub struct Ticking;

impl<S: Timed> Runs<S> for Ticking {
    const SERVES: bool = false;
    const SENDS: Option<MessageType> = Some(S::SENDS);

    async fn run(sketch: S, options: &Options, shutdown: Shutdown) -> Result<()> {
        drive(sketch, options, shutdown).await?.lost.verdict()
    }

    fn start(sketch: S, options: Options, _listener: Option<std::net::TcpListener>) -> Starting {
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        let ticking = tokio::spawn(async move { drive(sketch, &options, shutdown).await });
        Box::pin(async move {
            Ok(Box::new(Timer {
                ticking,
                stop,
                finished: None,
            }) as Box<dyn Running>)
        })
    }
}

/// A timer sketch ticking as part of a circuit.
struct Timer {
    /// The task that drives it.
    ticking: tokio::task::JoinHandle<Result<TimerReport>>,
    /// Stops it early.
    stop: Shutdown,
    /// Its outcome, once the task ended.
    finished: Option<Result<TimerReport>>,
}

impl Running for Timer {
    fn done(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            if self.finished.is_none() {
                let outcome = (&mut self.ticking).await;
                self.finished = Some(outcome.unwrap_or_else(|err| {
                    Err(Error::Io(std::io::Error::other(format!(
                        "the timer's task failed: {err}"
                    ))))
                }));
            }
        })
    }

    fn stop(mut self: Box<Self>) -> Pin<Box<dyn Future<Output = Result<RunReport>> + Send>> {
        Box::pin(async move {
            self.stop.trigger();
            self.done().await;
            let report = self.finished.take().unwrap_or(Ok(TimerReport::default()))?;
            Ok(RunReport {
                sent: report.sent,
                acked: report.acked,
                lost: report.lost,
            })
        })
    }
}

/// What a timer sketch did, for summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerReport {
    /// Ticks sent to the server.
    pub sent: u64,
    /// Acknowledgements received back.
    pub acked: u64,
    /// Ticks sent again after the server went away before acknowledging them.
    pub resent: u64,
    /// What it lost: ticks never acknowledged (it stopped first), and what
    /// its links did not deliver.
    pub lost: Losses,
}

/// Runs `setup`, connects to `ws://SOCKET:PORT/CHANNEL`, and ticks until the
/// loop returns `None` or `shutdown` fires (then it closes with 1001).
///
/// # Errors
/// [`Error::Setup`] when `setup` rejects the settings, [`Error::Unreachable`]
/// when no server answers within `--retry-for`, [`Error::Lost`] when the
/// server goes away (or leaves a tick unacknowledged for `--ack-timeout`) and does not
/// come back within `--retry-for`. A server that does come back gets the
/// unacknowledged tick again.
pub async fn drive<S: Timed>(
    sketch: S,
    options: &Options,
    shutdown: Shutdown,
) -> Result<TimerReport> {
    log::scoped(
        options.named.clone().unwrap_or_else(|| S::NAME.into()),
        drive_here(sketch, options, shutdown),
    )
    .await
}

/// [`drive`], logging as the sketch's own task: connect, tick until the
/// loop or a shutdown says so, then close and deliver what the links hold.
async fn drive_here<S: Timed>(
    mut sketch: S,
    options: &Options,
    mut shutdown: Shutdown,
) -> Result<TimerReport> {
    sketch.begin()?;
    configure(&sketch.links(), options);
    let address = server_of::<S>(options)?;
    let url = address.to_string();
    let mut dialer = Dialer::new(address, options.links.resolve_timeout);
    let patience = options.retry_for;
    let token = options.token.as_ref();
    let mut socket = match connect(&mut dialer, token, patience, &mut shutdown).await {
        Ok(Some(socket)) => socket,
        Ok(None) => return Ok(TimerReport::default()),
        Err(DialError::Refused(reason)) => return Err(Error::Refused { url, reason }),
        Err(DialError::Absent(reason)) => {
            return Err(Error::Unreachable {
                url,
                seconds: patience.as_secs_f64(),
                reason,
            })
        }
    };
    let period = sketch.period();
    // Made once, not per tick: each new wait on the signal is a registration.
    let mut stopping = shutdown.stopping();
    let mut acks = AckWait::new(options.links.ack_timeout);
    let progress = Progress::start(sketch.total());
    let mut report = TimerReport::default();
    let mut tick = 0;
    'ticks: while let Some(message) = sketch.tick(tick).await {
        if tick > 0 && !period.is_zero() {
            tokio::select! {
                _ = sleep(period) => {}
                _ = &mut stopping => break,
            }
        }
        report.sent += 1;
        progress.sent();
        signal("tick", tick);
        let mut resending = false;
        let ack = loop {
            match exchange(&mut socket, &message, resending, &mut acks, &mut stopping).await {
                Exchange::Acked(ack) => break ack,
                Exchange::Stopped(ack) => {
                    if let Some(ack) = ack {
                        acked(&ack, &mut report, &progress);
                    }
                    break 'ticks;
                }
                Exchange::Lost(reason) => {
                    // The tick may or may not have reached the server: send it again
                    // on a new connection, so that every tick is acknowledged.
                    tracing::warn!(
                        "lost the server at {url} ({reason}); reconnecting to resend {message:?}"
                    );
                    dialer.lost();
                    let again = connect(&mut dialer, token, patience, &mut shutdown).await;
                    socket = match again {
                        Ok(Some(socket)) => socket,
                        Ok(None) => break 'ticks,
                        Err(err) => return Err(not_back(err, url, message, &reason, patience)),
                    };
                    report.resent += 1;
                    resending = true;
                }
            }
        };
        acked(&ack, &mut report, &progress);
        tick += 1;
    }
    report.lost = finish(&mut socket, &shutdown, progress, sketch, options).await;
    report.lost.unacknowledged = report.sent - report.acked;
    let line = format!(
        "{} ticks sent, {} acknowledged, {} resent",
        report.sent, report.acked, report.resent
    );
    match report.lost.unacknowledged {
        0 => tracing::info!("{line}"),
        never => tracing::warn!("{line}, {never} not acknowledged (lost)"),
    }
    Ok(report)
}

/// Where the timer sends its ticks: `--to`, else `ws://SOCKET:PORT/CHANNEL`.
fn server_of<S: Timed>(options: &Options) -> Result<Address> {
    Ok(match &options.to {
        Some(to) => Address::parse(to)
            .map_err(Error::Setup)?
            .with_default_path(S::CHANNEL),
        None => Address::Url(format!(
            "ws://{}:{}{}",
            options.socket,
            options.port,
            S::CHANNEL
        )),
    })
}

/// Counts the acknowledgement `ack` of a tick, with its line and signal.
fn acked(ack: &str, report: &mut TimerReport, progress: &Progress) {
    crate::out!("< {ack}");
    signal("ack", ack);
    report.acked += 1;
    progress.acked(report.acked);
}

/// The error for a server lost (for `reason`) while `message` awaited its
/// acknowledgement, when connecting again failed with `err`.
fn not_back(
    err: DialError,
    url: String,
    message: String,
    reason: &str,
    patience: Duration,
) -> Error {
    match err {
        DialError::Refused(reason) => Error::Refused { url, reason },
        DialError::Absent(_) => Error::Lost {
            url,
            message,
            reason: format!(
                "{reason}; it did not come back within {:.1}s",
                patience.as_secs_f64()
            ),
        },
    }
}

/// Closes the connection (1001 when shutting down, else 1000), ends the
/// progress bar, and delivers what the sketch's links still hold, within
/// `--stop-timeout`; says what they lost.
async fn finish<S: Timed>(
    socket: &mut Socket,
    shutdown: &Shutdown,
    progress: Progress,
    sketch: S,
    options: &Options,
) -> Losses {
    let code = if shutdown.is_triggered() {
        CloseCode::Away
    } else {
        CloseCode::Normal
    };
    close_politely(socket, code, "").await;
    drop(progress);
    drain(&sketch.links(), options.stop_timeout).await
}

/// How sending one tick ended.
enum Exchange {
    /// The server acknowledged it.
    Acked(String),
    /// Shutdown: the acknowledgement, if it came within a second.
    Stopped(Option<String>),
    /// The connection failed before the acknowledgement.
    Lost(String),
}

/// Notices an acknowledgement missing for `--ack-timeout` with one timer
/// for the whole run, re-armed only when it fires, instead of one per tick.
struct AckWait {
    /// The timeout.
    timeout: Duration,
    /// Counts the checks that found no acknowledgement.
    watchdog: Watchdog,
    /// The time between two checks.
    every: Duration,
    /// The next check.
    check: Pin<Box<Sleep>>,
}

impl AckWait {
    /// Watches for acknowledgements missing for `timeout`.
    fn new(timeout: Duration) -> Self {
        let every = Watchdog::every(timeout);
        AckWait {
            timeout,
            watchdog: Watchdog::default(),
            every,
            check: Box::pin(sleep(every)),
        }
    }

    /// The next acknowledgement on `socket`, or why none came.
    async fn next(&mut self, socket: &mut Socket) -> Result<String, String> {
        // The time to answer starts now; a stale check finds it heard.
        self.watchdog.heard();
        loop {
            tokio::select! {
                ack = read_ack(socket) => return ack,
                () = &mut self.check => {
                    self.check.as_mut().reset(Instant::now() + self.every);
                    if self.watchdog.silent_for_a_span() {
                        return Err(format!(
                            "no acknowledgement within {:.1}s (--ack-timeout)",
                            self.timeout.as_secs_f64()
                        ));
                    }
                }
            }
        }
    }
}

/// Sends one tick and waits for its acknowledgement, or for shutdown.
async fn exchange(
    socket: &mut Socket,
    message: &str,
    resending: bool,
    acks: &mut AckWait,
    stopping: &mut Stopping,
) -> Exchange {
    if let Err(err) = socket.send(Message::text(message)).await {
        return Exchange::Lost(err.to_string());
    }
    if resending {
        crate::out!("> {message} (resent)");
    } else {
        crate::out!("> {message}");
    }
    tokio::select! {
        ack = acks.next(socket) => match ack {
            Ok(ack) => Exchange::Acked(ack),
            Err(reason) => Exchange::Lost(reason),
        },
        // The tick is out: a shutdown still gives its answer a moment to arrive.
        () = stopping => {
            let ack = timeout(Duration::from_secs(1), read_ack(socket)).await;
            Exchange::Stopped(ack.ok().and_then(Result::ok))
        }
    }
}

/// Connects within `patience`; `None` when shutdown came first.
async fn connect(
    dialer: &mut Dialer,
    token: Option<&Token>,
    patience: Duration,
    shutdown: &mut Shutdown,
) -> Result<Option<Socket>, DialError> {
    tokio::select! {
        socket = dialer.dial_within(token, patience) => socket.map(Some),
        _ = shutdown.wait() => Ok(None),
    }
}
