//! Drives a timer sketch such as the clock: on every tick, ask the loop for a
//! message, send it to the server, and wait for the acknowledgement; between
//! ticks, keep the connection alive.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::time::{sleep, timeout, Instant, Sleep};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::base::error::{Error, Result};
use crate::base::options::{Options, Token};
use crate::base::shutdown::{Shutdown, Stopping};
use crate::base::sketch::{RunReport, Running, Runs, Starting, Timed};
use crate::base::wiring::MessageType;
use crate::net::find::address::{Address, Dialer};
use crate::net::send::idle::{answer_ping, Pinging};
use crate::net::send::outbound::configure;
pub use crate::net::send::tally::TimerReport;
use crate::net::send::tally::{acked, ended};
use crate::net::wire::dial::DialError;
use crate::net::wire::socket::{close_politely, read_ack, Socket};
use crate::net::wire::watchdog::Watchdog;
use crate::observe::progress::Progress;
use crate::observe::signal::signal;
use crate::observe::{health, log, metrics};

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

/// Runs `setup`, connects to `ws://SOCKET:PORT/CHANNEL`, and ticks until the
/// loop returns `None` or `shutdown` fires (then it closes with 1001).
///
/// # Errors
/// [`Error::Setup`] when `setup` rejects the settings, [`Error::Unreachable`]
/// when no server answers within `--retry-for`, [`Error::Lost`] when the
/// server goes away (or leaves a tick unacknowledged for `--ack-timeout`) and does not
/// come back within `--retry-for`. A server that does come back gets the
/// unacknowledged tick again.
///
/// Between ticks the connection is read: the server's keepalive pings are
/// answered, a server silent for `--ack-timeout` is pinged and, silent as
/// long again, dropped. A connection that ends between ticks is made again
/// before the next one, quietly: no tick was lost.
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
    configure(&sketch, options, Some(&shutdown))?;
    let address = server_of::<S>(options)?;
    #[cfg(feature = "mqtt")]
    if let Address::Mqtt(url) = address {
        return crate::net::mqtt::ticks::drive(sketch, url, options, shutdown).await;
    }
    let mut server = Connection::new(address, options);
    if !server.open_or_fail(&mut shutdown).await? {
        return Ok(TimerReport::default());
    }
    let period = sketch.period();
    // Made once, not per tick: each new wait on the signal is a registration.
    let mut stopping = shutdown.stopping();
    let progress = Progress::start(sketch.total());
    let mut report = TimerReport::default();
    health::sketch_up();
    let ticks = metrics::Sketch::named(&log::current()).ticks();
    let mut tick = 0;
    'ticks: loop {
        // While the loop makes the tick and until it is due, the connection is
        // read, so that the server's keepalive pings are answered.
        let Some(message) = server.idle_while(sketch.tick(tick)).await else {
            break;
        };
        if tick > 0 && !period.is_zero() {
            let due = async {
                tokio::select! {
                    _ = sleep(period) => true,
                    _ = &mut stopping => false,
                }
            };
            if !server.idle_while(due).await {
                break;
            }
        }
        // Ended while idle: no tick was lost, so it is made again quietly.
        if server.socket.is_none() && !server.open_or_fail(&mut shutdown).await? {
            break;
        }
        report.sent += 1;
        ticks.sent();
        progress.sent();
        signal("tick", tick);
        let mut resending = false;
        let ack = loop {
            let Some(socket) = server.socket.as_mut() else {
                break 'ticks;
            };
            match exchange(
                socket,
                &message,
                resending,
                &mut server.watch,
                &mut stopping,
            )
            .await
            {
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
                        "lost the server at {} ({reason}); reconnecting to resend {message:?}",
                        server.url
                    );
                    server.lost();
                    match server.open(&mut shutdown).await {
                        Ok(true) => {}
                        Ok(false) => break 'ticks,
                        Err(err) => return Err(server.not_back(err, message, &reason)),
                    }
                    report.resent += 1;
                    resending = true;
                }
            }
        };
        acked(&ack, &mut report, &progress);
        tick += 1;
    }
    server.close(&shutdown).await;
    drop(progress);
    Ok(ended(sketch, options, report).await)
}

/// The timer's connection to its server, from tick to tick.
struct Connection<'a> {
    /// The server's URL, or its name, for log lines and errors.
    url: String,
    /// Connects to the server: its URL, or its name resolved again each time.
    dialer: Dialer,
    /// `--token`, presented on every connection.
    token: Option<&'a Token>,
    /// `--retry-for`: how long the server may take to come (back).
    patience: Duration,
    /// The connection; `None` once it ended between two ticks, until it is
    /// made again before the next.
    socket: Option<Socket>,
    /// Watches the server's silence, waiting for an acknowledgement or idle.
    watch: Watch,
    /// Why the connection last ended between two ticks, for an error if it
    /// cannot be made again.
    ended: String,
}

impl<'a> Connection<'a> {
    /// Not yet connected to `address`, with the sketch's `options`.
    fn new(address: Address, options: &'a Options) -> Self {
        Connection {
            url: address.to_string(),
            dialer: Dialer::new(address, options.links.resolve_timeout),
            token: options.token.as_ref(),
            patience: options.retry_for,
            socket: None,
            watch: Watch::new(options.links.ack_timeout),
            ended: String::new(),
        }
    }

    /// Connects within `--retry-for`; `false` when shutdown came first.
    async fn open(&mut self, shutdown: &mut Shutdown) -> Result<bool, DialError> {
        self.socket = tokio::select! {
            socket = self.dialer.dial_within(self.token, self.patience) => Some(socket?),
            _ = shutdown.wait() => None,
        };
        Ok(self.socket.is_some())
    }

    /// [`Connection::open`], with the error for a server that is not there
    /// (at the start, or after the connection ended between ticks).
    async fn open_or_fail(&mut self, shutdown: &mut Shutdown) -> Result<bool> {
        let opened = self.open(shutdown).await;
        let url = || self.url.clone();
        match opened {
            Ok(open) => Ok(open),
            Err(DialError::Refused(reason)) => Err(Error::Refused { url: url(), reason }),
            Err(DialError::Absent(reason)) => Err(Error::Unreachable {
                url: url(),
                seconds: self.patience.as_secs_f64(),
                reason: if self.ended.is_empty() {
                    reason
                } else {
                    format!(
                        "{reason}; it went away between ticks ({}) and did not come back",
                        self.ended
                    )
                },
            }),
        }
    }

    /// The connection ended: the server (of those a name has) goes last next time.
    fn lost(&mut self) {
        self.socket = None;
        self.dialer.lost();
    }

    /// Awaits `work` (the loop making a tick, the wait for the next) while
    /// reading the idle connection: the server's pings are answered, a server
    /// silent for `--ack-timeout` is pinged, and a connection that ends (or
    /// breaks the protocol) is dropped quietly, to be made again before the
    /// next tick.
    async fn idle_while<T>(&mut self, work: impl Future<Output = T>) -> T {
        tokio::pin!(work);
        if let Some(socket) = self.socket.as_mut() {
            tokio::select! {
                // The work first: a tick that is ready at once costs no read.
                biased;
                done = &mut work => return done,
                why = self.watch.idle(socket) => {
                    tracing::debug!(
                        "the connection ended between ticks ({why}); reconnecting before the next"
                    );
                    self.ended = why;
                    self.lost();
                }
            }
        }
        work.await
    }

    /// The error for a server lost (for `reason`) while `message` awaited its
    /// acknowledgement, when connecting again failed with `err`.
    fn not_back(&self, err: DialError, message: String, reason: &str) -> Error {
        let url = self.url.clone();
        match err {
            DialError::Refused(reason) => Error::Refused { url, reason },
            DialError::Absent(_) => Error::Lost {
                url,
                message,
                reason: format!(
                    "{reason}; it did not come back within {:.1}s",
                    self.patience.as_secs_f64()
                ),
            },
        }
    }

    /// Closes the connection, if there is one: 1001 when shutting down, else 1000.
    async fn close(&mut self, shutdown: &Shutdown) {
        let code = if shutdown.is_triggered() {
            CloseCode::Away
        } else {
            CloseCode::Normal
        };
        if let Some(socket) = self.socket.as_mut() {
            close_politely(socket, code, "").await;
        }
    }
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

/// How sending one tick ended.
enum Exchange {
    /// The server acknowledged it.
    Acked(String),
    /// Shutdown: the acknowledgement, if it came within a second.
    Stopped(Option<String>),
    /// The connection failed before the acknowledgement.
    Lost(String),
}

/// Watches the server with one timer for the whole run, re-armed only when
/// it fires, instead of one per tick: while a tick awaits its
/// acknowledgement, for an answer missing for `--ack-timeout`; between two
/// ticks, for a server silent that long (pinged, then called gone).
struct Watch {
    /// The span of silence that is too long: `--ack-timeout`.
    timeout: Duration,
    /// Counts the checks that found the server silent.
    watchdog: Watchdog,
    /// Whether the server of the idle connection was pinged.
    pinging: Pinging,
    /// The time between two checks.
    every: Duration,
    /// The next check.
    check: Pin<Box<Sleep>>,
}

impl Watch {
    /// Watches for a server silent for `timeout`.
    fn new(timeout: Duration) -> Self {
        let every = Watchdog::every(timeout);
        Watch {
            timeout,
            watchdog: Watchdog::default(),
            pinging: Pinging::default(),
            every,
            check: Box::pin(sleep(every)),
        }
    }

    /// Whether the check that is due finds the server silent for a span.
    fn silent(&mut self) -> bool {
        self.check.as_mut().reset(Instant::now() + self.every);
        self.watchdog.silent_for_a_span()
    }

    /// The next acknowledgement on `socket`, or why none came.
    async fn ack(&mut self, socket: &mut Socket) -> Result<String, String> {
        // The time to answer starts now; a stale check finds it heard.
        self.watchdog.heard();
        loop {
            tokio::select! {
                ack = read_ack(socket) => return ack,
                () = &mut self.check => {
                    if self.silent() {
                        return Err(format!(
                            "no acknowledgement within {:.1}s (--ack-timeout)",
                            self.timeout.as_secs_f64()
                        ));
                    }
                }
            }
        }
    }

    /// Reads `socket` while no tick awaits an answer, until the connection
    /// ends: then why. A message from the server now answers nothing, which
    /// breaks the protocol: the connection is closed with 1002.
    async fn idle(&mut self, socket: &mut Socket) -> String {
        self.watchdog.heard();
        self.pinging.heard();
        loop {
            tokio::select! {
                frame = socket.next() => {
                    self.watchdog.heard();
                    self.pinging.heard();
                    match frame {
                        Some(Ok(Message::Ping(_))) => {
                            if let Err(err) = answer_ping(socket).await {
                                return err;
                            }
                        }
                        Some(Ok(Message::Pong(_) | Message::Frame(_))) => {}
                        Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                            let what = "a message while no tick awaited an acknowledgement";
                            close_politely(socket, CloseCode::Protocol, what).await;
                            tracing::warn!("the server sent {what}; closed with 1002");
                            return format!("protocol violation by the server ({what})");
                        }
                        Some(Ok(Message::Close(frame))) => {
                            // Sends tungstenite's answer to the close.
                            let _ = socket.flush().await;
                            return match frame {
                                Some(frame) => format!("the server closed with {}: {}", u16::from(frame.code), frame.reason),
                                None => "the server closed".to_owned(),
                            };
                        }
                        Some(Err(err)) => return err.to_string(),
                        None => return "the connection ended".to_owned(),
                    }
                }
                () = &mut self.check => {
                    if self.silent() {
                        if let Err(why) = self.pinging.silent(socket, self.timeout).await {
                            return why;
                        }
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
    watch: &mut Watch,
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
        ack = watch.ack(socket) => match ack {
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
