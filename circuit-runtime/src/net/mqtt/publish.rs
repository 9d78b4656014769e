//! The task behind a link to a broker (`mqtt://`, `mqtts://`): publishes
//! the link's queue to its topic, many PUBLISHes per write, with a window of
//! them awaiting their PUBACK, which is the acknowledgement. It owns the
//! packet identifiers: a message keeps its identifier on every connection,
//! and what a lost connection left unacknowledged goes again first, in
//! order, with the DUP flag, whether or not the broker kept our session.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep, Instant};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::base::options::LinkOptions;
use crate::net::mqtt::connection::{keep_alive, Connection, Incoming, Login, Publishing};
use crate::net::mqtt::url::{MqttUrl, Qos};
use crate::net::send::delivery::{shortened, Shared};
use crate::net::send::queue::{Answer, Command};
use crate::net::wire::dial::{Backoff, DialError};
use crate::net::wire::watchdog::Watchdog;

/// What a PUBACK acknowledges with, having no text: the answer a
/// [`Link::request`](crate::Link::request) to a broker gets, and what a
/// timer prints for a tick the broker took.
pub(crate) const PUBACK: &str = "ok";

/// The most text a link keeps unacknowledged, whatever its window.
const WINDOW_BYTES: usize = 1024 * 1024;

/// Bytes of PUBLISHes written before the loop reads PUBACKs again.
const WRITE_BATCH: usize = 64 * 1024;

/// The most messages awaiting a PUBACK: one fewer than the packet
/// identifiers there are, so that none is used twice at once.
const MAX_IN_FLIGHT: usize = u16::MAX as usize - 1;

/// The largest payload MQTT 3.1.1 can carry to a topic (its remaining
/// length is at most 268,435,455 bytes, the topic and identifier included).
const MAX_PACKET: usize = 268_435_455;

/// A message taken from the queue and not yet settled.
struct Held {
    /// Its text, shared with the PUBLISH on the wire.
    text: Utf8Bytes,
    /// Where the acknowledgement goes, if anyone asked.
    answer: Answer,
    /// Its number in the link's stream (its spool record's, when it has one).
    number: u64,
    /// Its packet identifier, the same on every connection.
    pkid: u16,
    /// Whether a PUBLISH of it went out on an earlier connection: sent
    /// again, it carries DUP.
    written: bool,
    /// Whether its PUBACK came (before that of an older message).
    acked: bool,
    /// With MQTT 5, why the broker refused it (its PUBACK's reason).
    refusal: Option<String>,
    /// Connections that ended while it was the oldest unacknowledged message.
    failures: u32,
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

/// The publishing task's state, apart from the connection and the queue.
struct Publisher {
    /// The link this task publishes for.
    link: Arc<Shared>,
    /// The broker and topic.
    url: MqttUrl,
    /// The MQTT client identifier.
    client_id: String,
    /// The options in force.
    options: LinkOptions,
    /// QoS 1 (a PUBACK settles a message) or 0 (writing it does).
    qos: Qos,
    /// The retain flag of every PUBLISH.
    retain: bool,
    /// Taken from the queue, oldest first; the first `in_flight` are on the wire.
    pending: VecDeque<Held>,
    /// How many of `pending` were written on the current connection.
    in_flight: usize,
    /// The bytes of text in `pending`.
    pending_bytes: usize,
    /// Messages taken from the queue so far.
    taken: u64,
    /// The number the next message gets, unless its spool numbered it.
    next_number: u64,
    /// The identifier the next message gets.
    next_pkid: u16,
    /// Messages settled so far.
    settled: u64,
    /// Flushes and closes, in order.
    waiting: VecDeque<Waiting>,
    /// The wait before the next attempt, after a failed one.
    retry: Option<Duration>,
    /// The waits, doubling after each failure; reset by a PUBACK.
    backoff: Backoff,
    /// Whether we said the broker is down (and have not said it is back).
    down: bool,
    /// Whether the broker refused us (and we said so).
    refused: bool,
    /// Whether the broker shows progress often enough.
    watchdog: Watchdog,
    /// Whether the broker of the idle connection was pinged and has not answered.
    pinged: bool,
    /// MQTT 5: the most messages the broker takes unacknowledged (its
    /// CONNACK's Receive Maximum), on this connection.
    receive_max: usize,
}

/// How a connection failed.
enum Failure {
    /// It ended, failed, or the broker broke the protocol.
    Lost(String),
    /// The broker left messages unacknowledged for `--ack-timeout`.
    Silent,
}

/// Publishes the link's messages to `url` as `client_id` until every handle
/// to its queue is gone and nothing is left to deliver.
pub(crate) async fn publish(
    link: Arc<Shared>,
    url: MqttUrl,
    client_id: String,
    mut commands: mpsc::Receiver<Command>,
) {
    let mut state = Publisher::new(link, url, client_id);
    let mut connection: Option<Connection> = None;
    let mut open = true;
    let every = Watchdog::every(state.options.ack_timeout);
    let check = sleep(every);
    tokio::pin!(check);
    loop {
        state.settle_waiting(&mut connection).await;
        if !open && state.pending.is_empty() {
            break;
        }
        if connection.is_none() && !state.pending.is_empty() {
            connection = state.connect().await;
            if connection.is_none() {
                continue;
            }
            check.as_mut().reset(Instant::now() + every);
        }
        if let Some(live) = connection.as_mut() {
            if let Err(failure) = state.send_unsent(live).await {
                state.fail(&mut connection, failure);
                continue;
            }
        }
        let room = open && state.has_room() && (connection.is_some() || state.pending.is_empty());
        tokio::select! {
            biased;
            packet = next_packet(connection.as_mut()) => {
                if let Err(failure) = state.on_packet(packet) {
                    state.fail(&mut connection, failure);
                }
            }
            command = commands.recv(), if room => match command {
                Some(command) => {
                    state.take(command);
                    while connection.is_some() && state.has_room() {
                        match commands.try_recv() {
                            Ok(command) => state.take(command),
                            Err(_) => break,
                        }
                    }
                }
                None => open = false,
            },
            () = &mut check, if connection.is_some() => {
                check.as_mut().reset(Instant::now() + every);
                if state.watchdog.silent_for_a_span() {
                    state.silent(&mut connection).await;
                }
            }
        }
    }
    if let Some(live) = connection {
        live.close().await;
    }
}

/// The next packet from the broker, or never when there is no connection.
async fn next_packet(connection: Option<&mut Connection>) -> Result<Incoming, String> {
    match connection {
        Some(connection) => connection.next().await,
        None => std::future::pending().await,
    }
}

impl Publisher {
    /// Nothing taken yet, for `link` to the topic of `url`.
    fn new(link: Arc<Shared>, url: MqttUrl, client_id: String) -> Publisher {
        Publisher {
            options: link.options(),
            qos: url.qos,
            retain: url.retain || link.retain.load(Ordering::Relaxed),
            url,
            client_id,
            link,
            pending: VecDeque::new(),
            in_flight: 0,
            pending_bytes: 0,
            taken: 0,
            next_number: 1,
            next_pkid: 1,
            settled: 0,
            waiting: VecDeque::new(),
            retry: None,
            backoff: Backoff::new(),
            down: false,
            refused: false,
            watchdog: Watchdog::default(),
            pinged: false,
            receive_max: MAX_IN_FLIGHT,
        }
    }

    /// Whether another message may be taken: fewer than `--link-window`
    /// unacknowledged (and than packet identifiers), and less than
    /// [`WINDOW_BYTES`] of their text.
    fn has_room(&self) -> bool {
        let window = self.options.window.clamp(1, MAX_IN_FLIGHT);
        self.pending.len() < window && self.pending_bytes < WINDOW_BYTES
    }

    /// One attempt to connect, after the wait a failed attempt asked for.
    async fn connect(&mut self) -> Option<Connection> {
        if let Some(wait) = self.retry.take() {
            sleep(wait).await;
        }
        let login = Login {
            url: &self.url,
            client_id: &self.client_id,
            // The broker keeps what it took of ours across a reconnection.
            clean: false,
            keep_alive: keep_alive(self.options.ack_timeout),
        };
        let url = self.link.url.as_str();
        match Connection::open(&login).await {
            Ok((connection, accepted)) => {
                self.refused = false;
                tracing::debug!(
                    "link to {url} connected as {} (session present: {})",
                    self.client_id,
                    accepted.session_present
                );
                if self.down {
                    tracing::info!("link to {url} is up again");
                    self.down = false;
                }
                self.watchdog.heard();
                self.pinged = false;
                self.receive_max = accepted
                    .receive_max
                    .map_or(MAX_IN_FLIGHT, |most| usize::from(most.max(1)));
                Some(connection)
            }
            Err(DialError::Refused(reason)) => {
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

    /// Writes PUBLISHes of the messages not yet written on this connection,
    /// at most [`WRITE_BATCH`] bytes at a time, oldest first; at QoS 0 each
    /// is settled once written.
    async fn send_unsent(&mut self, connection: &mut Connection) -> Result<(), Failure> {
        if self.in_flight == self.pending.len() {
            return Ok(());
        }
        if self.in_flight == 0 {
            // The broker's time to answer starts now.
            self.watchdog.heard();
        }
        let first = self.in_flight;
        while connection.queued() < WRITE_BATCH && self.in_flight < self.receive_max {
            let Some(held) = self.pending.get_mut(self.in_flight) else {
                break;
            };
            if held.failures > 0 {
                tracing::debug!(
                    "link to {}: resending {}",
                    self.link.url,
                    shortened(&held.text)
                );
            }
            let payload: &Bytes = held.text.as_ref();
            connection.publish(Publishing {
                topic: &self.url.topic,
                payload: payload.clone(),
                qos: self.qos,
                retain: self.retain,
                pkid: held.pkid,
                dup: held.written,
            });
            held.written = true;
            self.in_flight += 1;
        }
        connection
            .flush()
            .await
            .map_err(|err| Failure::Lost(format!("IO error: {err}")))?;
        if self.qos == Qos::AtMostOnce {
            for _ in first..self.in_flight {
                self.settle_front();
            }
        }
        Ok(())
    }

    /// Takes one command from the queue.
    fn take(&mut self, command: Command) {
        let (done, close) = match command {
            Command::Send(text, answer, spooled) => {
                self.taken += 1;
                let number = if spooled > 0 {
                    spooled
                } else {
                    self.next_number
                };
                self.next_number = number + 1;
                let pkid = self.next_pkid;
                self.next_pkid = self.next_pkid.checked_add(1).unwrap_or(1);
                let held = Held {
                    text,
                    answer,
                    number,
                    pkid,
                    written: false,
                    acked: false,
                    refusal: None,
                    failures: 0,
                };
                let overhead = 2 + self.url.topic.len() + 2;
                if held.text.len() + overhead > MAX_PACKET {
                    // No broker can take it: said, not sent.
                    self.settled += 1;
                    let reason = format!(
                        "{} bytes is over what one MQTT message carries ({MAX_PACKET} bytes)",
                        held.text.len()
                    );
                    tracing::warn!("link to {}: {reason}; dead-lettered", self.link.url);
                    self.link
                        .dead_lettered(held.number, held.answer, 0, &reason);
                    return;
                }
                self.pending_bytes += held.text.len();
                self.pending.push_back(held);
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
    async fn settle_waiting(&mut self, connection: &mut Option<Connection>) {
        while self
            .waiting
            .front()
            .is_some_and(|waiting| waiting.after <= self.settled)
        {
            let Some(waiting) = self.waiting.pop_front() else {
                break;
            };
            if waiting.close {
                if let Some(live) = connection.take() {
                    live.close().await;
                }
                self.in_flight = 0;
            }
            let _ = waiting.done.send(());
        }
    }

    /// A silence of `--ack-timeout`: with messages in flight the broker is
    /// dropped; idle, it is pinged, and dropped when it did not answer the
    /// last ping either.
    async fn silent(&mut self, connection: &mut Option<Connection>) {
        let Some(live) = connection.as_mut() else {
            return;
        };
        let failure = if self.in_flight > 0 {
            Failure::Silent
        } else if self.pinged {
            Failure::Lost(format!(
                "the broker did not answer a ping within {:.1}s",
                self.options.ack_timeout.as_secs_f64()
            ))
        } else {
            live.ping();
            match live.flush().await {
                Ok(()) => {
                    self.pinged = true;
                    return;
                }
                Err(err) => Failure::Lost(format!("IO error: {err}")),
            }
        };
        self.fail(connection, failure);
    }

    /// Handles one packet from the broker: a PUBACK settles its message
    /// (and, once the oldest are all acknowledged, those in order).
    fn on_packet(&mut self, packet: Result<Incoming, String>) -> Result<(), Failure> {
        let (pkid, refusal) = match packet.map_err(Failure::Lost)? {
            Incoming::PubAck { pkid, refused } => (pkid, refused),
            Incoming::PingResp => {
                self.pinged = false;
                if self.in_flight == 0 {
                    self.watchdog.heard();
                }
                return Ok(());
            }
            Incoming::Disconnect(why) => return Err(Failure::Lost(why)),
            other => {
                return Err(Failure::Lost(format!(
                    "the broker sent a publisher {other:?}, which MQTT does not allow"
                )))
            }
        };
        let found = self
            .pending
            .iter_mut()
            .take(self.in_flight)
            .find(|held| held.pkid == pkid && !held.acked);
        let Some(held) = found else {
            // A PUBACK of what an earlier connection carried, and was settled since.
            tracing::debug!("link to {}: a PUBACK of no message ({pkid})", self.link.url);
            return Ok(());
        };
        held.acked = true;
        held.refusal = refusal;
        self.watchdog.heard();
        self.backoff = Backoff::new();
        self.retry = None;
        while self.pending.front().is_some_and(|held| held.acked) {
            self.settle_front();
        }
        Ok(())
    }

    /// Settles the oldest message on the wire: the broker has it.
    fn settle_front(&mut self) {
        let Some(held) = self.pending.pop_front() else {
            return;
        };
        self.pending_bytes -= held.text.len();
        self.in_flight -= 1;
        self.settled += 1;
        // A refusal is counted and answered as a peer's `error: …`.
        let refused = held
            .refusal
            .map(|why| format!("error: the broker refused it: {why}"));
        let ack = refused.as_deref().unwrap_or(PUBACK);
        self.link
            .acknowledged(held.number, &held.text, held.answer, ack);
    }

    /// Dead-letters every message held, for a broker that refused us; says
    /// so once, loudly, then quietly for later messages.
    fn dead_letter_all(&mut self, reason: &str) {
        let mut count = 0u64;
        while let Some(dead) = self.pending.pop_front() {
            self.settled += 1;
            count += 1;
            self.link
                .dead_lettered(dead.number, dead.answer, dead.failures + 1, reason);
        }
        self.pending_bytes = 0;
        self.in_flight = 0;
        let url = self.link.url.as_str();
        if std::mem::replace(&mut self.refused, true) {
            tracing::debug!("link to {url} refused again ({reason}): {count} dead-lettered");
        } else {
            tracing::error!(
                "link to {url} was refused ({reason}); what it is given is dead-lettered, not retried, until the broker takes it"
            );
        }
    }

    /// Ends the connection after `failure`: what it left unacknowledged
    /// goes again, in order, on the next one, after a longer wait; the
    /// oldest message, which the connection ended on, is dead-lettered
    /// after `--link-attempts`. An idle connection that ends is no failure
    /// of delivery: said quietly, and the next message connects at once.
    fn fail(&mut self, connection: &mut Option<Connection>, failure: Failure) {
        let reason = match failure {
            Failure::Lost(reason) => reason,
            Failure::Silent => format!(
                "no PUBACK within {:.1}s (--ack-timeout)",
                self.options.ack_timeout.as_secs_f64()
            ),
        };
        *connection = None;
        self.pinged = false;
        let url = self.link.url.as_str();
        if std::mem::take(&mut self.in_flight) == 0 {
            tracing::debug!("link to {url}: {reason}; reconnecting with the next message");
            return;
        }
        let wait = self.backoff.next_wait();
        self.retry = Some(wait);
        self.down = true;
        // Acknowledged out of order, they need no resending.
        let Some(oldest) = self.pending.front_mut() else {
            return;
        };
        oldest.failures += 1;
        if oldest.failures < self.options.attempts.max(1) {
            tracing::warn!(
                "link to {url}: {reason}, with {} unacknowledged; resending in {}ms",
                self.pending.len(),
                wait.as_millis()
            );
            return;
        }
        let Some(dead) = self.pending.pop_front() else {
            return;
        };
        self.pending_bytes -= dead.text.len();
        self.settled += 1;
        tracing::warn!(
            "link to {url}: gave up on {} after {} attempts ({reason}); dead-lettered",
            shortened(&dead.text),
            dead.failures
        );
        self.link
            .dead_lettered(dead.number, dead.answer, dead.failures, &reason);
        while self.pending.front().is_some_and(|held| held.acked) {
            // Already taken by the broker: settled, not resent.
            self.in_flight += 1;
            self.settle_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::find::address::Address;
    use crate::net::mqtt::url::TopicUse;

    /// A publisher that took `count` messages and wrote them all.
    fn with_in_flight(count: u64) -> Publisher {
        let url = MqttUrl::parse("mqtt://127.0.0.1:1/t", TopicUse::Publish).unwrap();
        let link = Arc::new(Shared::new(Address::Mqtt(url.clone())));
        let mut publisher = Publisher::new(link, url, "id".to_owned());
        for n in 0..count {
            publisher.take(Command::Send(Utf8Bytes::from(n.to_string()), None, 0));
        }
        for held in &mut publisher.pending {
            held.written = true;
        }
        publisher.in_flight = publisher.pending.len();
        publisher
    }

    fn puback(pkid: u16) -> Result<Incoming, String> {
        Ok(Incoming::PubAck {
            pkid,
            refused: None,
        })
    }

    #[test]
    fn a_puback_out_of_order_waits_for_the_older_ones_and_a_lost_connection_keeps_identifiers() {
        let mut publisher = with_in_flight(4);
        let ids: Vec<u16> = publisher.pending.iter().map(|held| held.pkid).collect();
        assert_eq!(ids, [1, 2, 3, 4]);
        assert!(publisher.on_packet(puback(2)).is_ok());
        assert_eq!(publisher.settled, 0, "1 is older and unacknowledged");
        assert!(publisher.on_packet(puback(1)).is_ok());
        assert_eq!(publisher.settled, 2, "1, then 2, in order");
        assert!(
            publisher.on_packet(puback(9)).is_ok(),
            "a stray PUBACK is ignored"
        );
        publisher.fail(&mut None, Failure::Lost("gone".to_owned()));
        assert_eq!(publisher.in_flight, 0, "3 and 4 go again, first");
        let again: Vec<(u16, bool)> = publisher
            .pending
            .iter()
            .map(|held| (held.pkid, held.written))
            .collect();
        assert_eq!(
            again,
            [(3, true), (4, true)],
            "same identifiers, sent with DUP"
        );
        assert_eq!(publisher.link.counters.report().delivered, 2);
    }

    #[test]
    fn identifiers_wrap_past_zero() {
        let mut publisher = with_in_flight(0);
        publisher.next_pkid = u16::MAX;
        publisher.take(Command::Send(Utf8Bytes::from_static("a"), None, 0));
        publisher.take(Command::Send(Utf8Bytes::from_static("b"), None, 0));
        let ids: Vec<u16> = publisher.pending.iter().map(|held| held.pkid).collect();
        assert_eq!(ids, [u16::MAX, 1]);
    }
}
