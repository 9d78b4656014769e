//! The task behind a link: connects, streams the queue with a window of
//! messages in flight, matches each acknowledgement to the oldest message
//! awaiting one, keeps the connection alive while idle, and backs off,
//! resends or dead-letters when a connection fails.

mod failure;
mod retained;
mod shared;

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

pub(crate) use self::shared::{shortened, Release, Shared};
use crate::base::options::LinkOptions;
use crate::net::find::address::Dialer;
use crate::net::send::idle::{answer_ping, Pinging};
use crate::net::send::queue::{Answer, Command};
use crate::net::wire::dial::{Backoff, DialError};
use crate::net::wire::resume::Resume;
use crate::net::wire::socket::{close_politely, Socket};
use crate::net::wire::watchdog::Watchdog;
use crate::observe::metrics::AckTime;

/// The most text a link keeps unacknowledged, whatever its window: large
/// messages fill the window by size before they fill it by count.
const WINDOW_BYTES: usize = 1024 * 1024;

/// Bytes of text written before the loop reads acknowledgements again.
const WRITE_BATCH: usize = 64 * 1024;

/// A message taken from the queue and not yet acknowledged.
struct Outstanding {
    /// The frame's text, shared with the frame on the wire.
    text: Utf8Bytes,
    /// Where its answer goes, if anyone asked.
    answer: Answer,
    /// Its number: the link's messages are numbered from 1 as they are
    /// taken (by its spool, across restarts, when it has one), and keep
    /// their number on every connection that carries them.
    number: u64,
    /// Connections that ended while it was the oldest unacknowledged message.
    failures: u32,
    /// Whether it is the retained message sent again on a new connection:
    /// neither taken from the queue nor, once acknowledged, delivered anew.
    retained: bool,
    /// When it last went on the wire, with `--metrics` (for the time its
    /// peer takes to acknowledge).
    sent: Option<std::time::Instant>,
}

/// A flush or close waiting for the messages queued before it.
struct Waiting {
    /// Settled messages needed: those taken before it.
    after: u64,
    /// Told when they are.
    done: oneshot::Sender<()>,
    /// Whether to close the connection then.
    close: bool,
}

/// How a connection failed.
enum Failure {
    /// It ended, the peer closed it (the reason names the close code), or
    /// the peer of an idle connection did not answer our ping.
    Lost(String),
    /// The peer broke the protocol: closed with 1002.
    Violation(&'static str),
    /// The peer left messages unacknowledged for `--ack-timeout`.
    Silent,
}

/// The delivering task's state, apart from the socket and the queue.
struct Delivery {
    /// The link this task delivers for.
    link: Arc<Shared>,
    /// The options in force.
    options: LinkOptions,
    /// Taken from the queue, oldest first; the first `in_flight` are on the wire.
    pending: VecDeque<Outstanding>,
    /// How many of `pending` were sent on the current connection.
    in_flight: usize,
    /// The bytes of text in `pending`.
    pending_bytes: usize,
    /// Messages taken from the queue so far.
    taken: u64,
    /// The number the next message taken gets, unless its spool numbered it.
    next_number: u64,
    /// Messages acknowledged, refused or dead-lettered so far.
    settled: u64,
    /// Flushes and closes, in order.
    waiting: VecDeque<Waiting>,
    /// The wait before the next attempt, after a failed one.
    retry: Option<Duration>,
    /// The waits, doubling after each failure; reset by an acknowledgement.
    backoff: Backoff,
    /// Whether we said the peer is down (and have not said it is back).
    down: bool,
    /// Whether the peer shows progress often enough: acknowledges what is
    /// in flight or, with nothing in flight, sends anything at all.
    watchdog: Watchdog,
    /// Whether the peer of the idle connection was pinged.
    pinging: Pinging,
    /// Connects to the peer: its URL, or its name resolved again each time.
    dialer: Dialer,
    /// Whether the peer refused us (and we said so).
    refused: bool,
    /// Whether the link keeps its last delivered message (`--retain`).
    retaining: bool,
    /// With `retaining`, the last message the peer acknowledged: sent first
    /// on every new connection.
    retained: Option<Utf8Bytes>,
}

/// Delivers the link's messages until every handle to its queue is gone and
/// nothing is left to deliver.
pub(crate) async fn deliver(link: Arc<Shared>, mut commands: mpsc::Receiver<Command>) {
    let options = link.options();
    let dialer = Dialer::new(link.address.clone(), options.resolve_timeout);
    let mut state = Delivery {
        dialer,
        refused: false,
        retaining: link.retain.load(Ordering::Relaxed),
        retained: None,
        link,
        options,
        pending: VecDeque::new(),
        in_flight: 0,
        pending_bytes: 0,
        taken: 0,
        next_number: 1,
        settled: 0,
        waiting: VecDeque::new(),
        retry: None,
        backoff: Backoff::new(),
        down: false,
        watchdog: Watchdog::default(),
        pinging: Pinging::default(),
    };
    let mut socket: Option<Socket> = None;
    let mut open = true;
    // Armed once and re-armed only when it fires, so that a busy link pays no
    // timer operation and no clock read per message (the last branch of the
    // `select!` below).
    let every = Watchdog::every(state.options.ack_timeout);
    let check = sleep(every);
    tokio::pin!(check);
    loop {
        state.settle_waiting(&mut socket).await;
        // Done when nothing is left but, at most, the retained message.
        if !open && state.pending.iter().all(|held| held.retained) {
            break;
        }
        if socket.is_none() && !state.pending.is_empty() {
            socket = state.connect().await;
            if socket.is_none() {
                continue;
            }
            state.resend_retained();
            check.as_mut().reset(Instant::now() + every);
        }
        if let Some(live) = socket.as_mut() {
            if let Err(failure) = state.send_unsent(live).await {
                state.fail(&mut socket, failure).await;
                continue;
            }
        }
        // While there is no connection, only the message that will open one
        // is taken: the rest wait in the queue, whose bound the sender sees.
        let room = open && state.has_room() && (socket.is_some() || state.pending.is_empty());
        tokio::select! {
            biased;
            frame = next_frame(socket.as_mut()) => match frame {
                Some(Ok(Message::Ping(_))) => state.kept_alive(&mut socket, true).await,
                Some(Ok(Message::Pong(_))) => state.kept_alive(&mut socket, false).await,
                frame => {
                    if let Err(failure) = state.on_frame(frame) {
                        state.fail(&mut socket, failure).await;
                    }
                }
            },
            command = commands.recv(), if room => match command {
                Some(command) => {
                    state.take(command);
                    // Take what else is queued, so that it goes out in one write.
                    while socket.is_some() && state.has_room() {
                        match commands.try_recv() {
                            Ok(command) => state.take(command),
                            Err(_) => break,
                        }
                    }
                }
                None => open = false,
            },
            // Idle too: a connection with nothing in flight still notices a dead peer.
            () = &mut check, if socket.is_some() => {
                check.as_mut().reset(Instant::now() + every);
                if state.watchdog.silent_for_a_span() {
                    state.silent(&mut socket).await;
                }
            }
        }
    }
    if let Some(mut live) = socket {
        close_politely(&mut live, CloseCode::Normal, "").await;
    }
}

/// The next frame from the peer, or never when there is no connection.
async fn next_frame(socket: Option<&mut Socket>) -> Option<Result<Message, WsError>> {
    match socket {
        Some(socket) => socket.next().await,
        None => std::future::pending().await,
    }
}

impl Delivery {
    /// Whether another message may be taken: fewer than `--link-window`
    /// unacknowledged, and less than [`WINDOW_BYTES`] of their text.
    fn has_room(&self) -> bool {
        self.pending.len() < self.options.window.max(1) && self.pending_bytes < WINDOW_BYTES
    }

    /// One attempt to connect, after the wait a failed attempt asked for.
    async fn connect(&mut self) -> Option<Socket> {
        if let Some(wait) = self.retry.take() {
            sleep(wait).await;
        }
        let url = self.link.url.as_str();
        let resume = self.resume();
        match self
            .dialer
            .dial_resuming(self.link.token.get(), Some(resume))
            .await
        {
            Ok(socket) => {
                self.refused = false;
                self.link.connections.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("link to {url} connected, as {}", self.link.identity());
                if self.down {
                    tracing::info!("link to {url} is up again");
                    self.down = false;
                }
                self.watchdog.heard();
                self.pinging.heard();
                Some(socket)
            }
            Err(DialError::Refused(reason)) => {
                // The peer said no (our token, a certificate): trying again with
                // these messages cannot mend it, so they are dead-lettered.
                self.retry = Some(self.backoff.next_wait());
                self.down = true;
                self.dead_letter_all(&reason);
                None
            }
            Err(err) => {
                let wait = self.backoff.next_wait();
                if !self.down {
                    tracing::warn!("link to {url} is down ({err}); retrying in the background");
                    self.down = true;
                } else {
                    tracing::debug!("link to {url}: {err}; retrying in {}ms", wait.as_millis());
                }
                self.retry = Some(wait);
                None
            }
        }
    }

    /// Puts messages not yet sent on this connection on the wire, at most
    /// [`WRITE_BATCH`] bytes at a time: between two batches the loop reads
    /// acknowledgements, so that a peer blocked on writing them to us never
    /// waits on us blocked on writing to it.
    async fn send_unsent(&mut self, socket: &mut Socket) -> Result<(), Failure> {
        if self.in_flight == self.pending.len() {
            return Ok(());
        }
        if self.in_flight == 0 {
            // The peer's time to answer starts now; a ping out is moot.
            self.watchdog.heard();
            self.pinging.heard();
        }
        let mut written = 0;
        while written < WRITE_BATCH {
            let Some(outstanding) = self.pending.get_mut(self.in_flight) else {
                break;
            };
            if outstanding.failures > 0 {
                tracing::debug!(
                    "link to {}: resending {}",
                    self.link.url,
                    shortened(&outstanding.text)
                );
            }
            written += outstanding.text.len();
            outstanding.sent = AckTime::start();
            // A clone of the frame shares its bytes: no copy, no allocation.
            let frame = Message::Text(outstanding.text.clone());
            socket.feed(frame).await.map_err(lost)?;
            self.in_flight += 1;
        }
        self.link.flying(self.in_flight);
        socket.flush().await.map_err(lost)
    }

    /// Takes one command from the queue.
    fn take(&mut self, command: Command) {
        let (done, close) = match command {
            Command::Send(text, answer, spooled) => {
                self.taken += 1;
                // A spool numbers its messages across restarts (so that a peer
                // tells a resent one from a new one); without, they count from 1.
                let number = if spooled > 0 {
                    spooled
                } else {
                    self.next_number
                };
                self.next_number = number + 1;
                self.pending_bytes += text.len();
                self.pending.push_back(Outstanding {
                    text,
                    answer,
                    number,
                    failures: 0,
                    retained: false,
                    sent: None,
                });
                return;
            }
            Command::Flush(done) => (done, false),
            Command::Close(done) => (done, true),
        };
        self.waiting.push_back(Waiting {
            after: self.taken,
            done,
            close,
        });
    }

    /// Answers the flushes and closes whose messages are all settled.
    async fn settle_waiting(&mut self, socket: &mut Option<Socket>) {
        while self
            .waiting
            .front()
            .is_some_and(|waiting| waiting.after <= self.settled)
        {
            let Some(waiting) = self.waiting.pop_front() else {
                break;
            };
            if waiting.close {
                if let Some(mut live) = socket.take() {
                    close_politely(&mut live, CloseCode::Normal, "").await;
                }
                // What the connection still carried goes again on the next
                // one, which a later message opens, the retained message first.
                self.in_flight = 0;
                self.link.flying(0);
                self.unqueue_retained();
            }
            let _ = waiting.done.send(());
        }
    }

    /// Where the next connection takes up the link's stream: the number of
    /// its first numbered message (`Circuit-Next`), the oldest
    /// unacknowledged one or the next new one, and whether the retained
    /// message goes before it, unnumbered (`Circuit-Retained`).
    fn resume(&self) -> Resume {
        let next = self
            .pending
            .iter()
            .find(|held| !held.retained)
            .map_or(self.next_number, |held| held.number);
        Resume {
            link: self.link.identity(),
            next,
            retained: self.pending.front().is_some_and(|held| held.retained),
        }
    }

    /// A ping or a pong from the peer: with nothing in flight it shows the
    /// peer is there (with messages in flight only their acknowledgements
    /// do). Our pong to a ping goes at once, not with our next message.
    async fn kept_alive(&mut self, socket: &mut Option<Socket>, ping: bool) {
        self.pinging.heard();
        if self.in_flight == 0 {
            self.watchdog.heard();
        }
        let Some(live) = socket.as_mut().filter(|_| ping) else {
            return;
        };
        if let Err(why) = answer_ping(live).await {
            self.fail(socket, Failure::Lost(why)).await;
        }
    }

    /// A span of silence: with messages in flight the peer is dropped; idle,
    /// it is pinged, and dropped when it did not answer the last ping either.
    async fn silent(&mut self, socket: &mut Option<Socket>) {
        let failure = match socket.as_mut() {
            Some(_) if self.in_flight > 0 => Failure::Silent,
            Some(live) => match self.pinging.silent(live, self.options.ack_timeout).await {
                Ok(()) => return,
                Err(why) => Failure::Lost(why),
            },
            None => return,
        };
        self.fail(socket, failure).await;
    }

    /// Handles one frame from the peer: an acknowledgement settles the oldest
    /// message on the wire.
    fn on_frame(&mut self, frame: Option<Result<Message, WsError>>) -> Result<(), Failure> {
        let ack = match frame {
            Some(Ok(Message::Text(ack))) => ack,
            Some(Ok(Message::Binary(_))) => {
                return Err(Failure::Violation("a binary acknowledgement"))
            }
            Some(Ok(Message::Close(Some(frame)))) => {
                return Err(Failure::Lost(format!(
                    "the peer closed with {}{}",
                    u16::from(frame.code),
                    if frame.reason.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", frame.reason)
                    }
                )))
            }
            Some(Ok(Message::Close(None))) => {
                return Err(Failure::Lost("the peer closed".to_owned()))
            }
            // Pings and pongs are `kept_alive`.
            Some(Ok(_)) => return Ok(()),
            Some(Err(err)) => return Err(lost(err)),
            None => return Err(Failure::Lost("the connection ended".to_owned())),
        };
        if self.in_flight == 0 {
            return Err(Failure::Violation("an answer to no message"));
        }
        let Some(outstanding) = self.pending.pop_front() else {
            return Err(Failure::Violation("an answer to no message"));
        };
        self.pending_bytes -= outstanding.text.len();
        self.in_flight -= 1;
        self.link.flying(self.in_flight);
        self.link.ack_time.acknowledged(outstanding.sent);
        self.watchdog.heard();
        if outstanding.retained {
            self.retained_acked(&outstanding.text, &ack);
            return Ok(());
        }
        self.settled += 1;
        self.backoff = Backoff::new();
        self.retry = None;
        let delivered = self.link.acknowledged(
            outstanding.number,
            &outstanding.text,
            outstanding.answer,
            ack.as_str(),
        );
        if delivered && self.retaining {
            self.retained = Some(outstanding.text); // shared, not copied
        }
        Ok(())
    }
}

/// A failure of the connection itself.
fn lost(err: WsError) -> Failure {
    Failure::Lost(err.to_string())
}
