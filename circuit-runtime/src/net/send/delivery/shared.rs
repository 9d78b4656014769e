//! What a link and its delivering task share: where its messages go, its
//! options, token, identity and spool, what happened to its messages so
//! far, and when a `send` waiting for room gives up.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::base::options::LinkOptions;
use crate::base::options::Token;
use crate::base::shutdown::Shutdown;
use crate::base::sketch::LinkReport;
use crate::net::find::address::Address;
use crate::net::send::identity::LinkId;
use crate::net::send::queue::{Answer, LinkError};
use crate::net::send::spool::Spool;
use crate::observe::metrics::{AckTime, LinkSample, LinkSource};

/// What a link and its delivering task share.
pub(crate) struct Shared {
    /// Where the messages go, as given: `ws://localhost:8766/pin`, or `buzzer/pin`.
    pub(crate) url: String,
    /// The same, parsed: a URL, or a sketch's name resolved on every connection.
    pub(crate) address: Address,
    /// What happened to the messages so far.
    pub(crate) counters: Counters,
    /// When a `send` waiting for room gives up: once the sketch stops and
    /// its `--stop-timeout` ran out (see [`Release`]); never, before it is set.
    pub(crate) release: OnceLock<Release>,
    /// The sketch's link options, from `configure`; the defaults otherwise.
    pub(crate) options: OnceLock<LinkOptions>,
    /// The token presented to the peer: the sketch's own `--token`.
    pub(crate) token: OnceLock<Token>,
    /// Whether the last delivered message is kept and sent first on every
    /// new connection (`--retain`, [`Link::retain_last`](crate::Link::retain_last)).
    pub(crate) retain: AtomicBool,
    /// The link's spool (`--spool`), told what is settled.
    pub(crate) spool: OnceLock<Arc<Spool>>,
    /// Who the link is to its peer, on every connection (`Circuit-Link`), so
    /// that a circuit server answers a resent message without running its
    /// loop again: kept in its spool, or drawn once per process.
    pub(crate) identity: OnceLock<LinkId>,
    /// Messages on the wire, unacknowledged, as its delivering task last said.
    pub(crate) in_flight: AtomicU64,
    /// Connections made so far.
    pub(crate) connections: AtomicU64,
    /// The peer's time to acknowledge (`--metrics`).
    pub(crate) ack_time: AckTime,
}

impl Shared {
    /// The shared part of a new link to `address`.
    pub(crate) fn new(address: Address) -> Self {
        Shared {
            url: address.to_string(),
            address,
            counters: Counters::default(),
            release: OnceLock::new(),
            options: OnceLock::new(),
            token: OnceLock::new(),
            retain: AtomicBool::new(false),
            spool: OnceLock::new(),
            identity: OnceLock::new(),
            in_flight: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            ack_time: AckTime::new(),
        }
    }

    /// Its delivering task has `count` messages on the wire.
    pub(crate) fn flying(&self, count: usize) {
        self.in_flight.store(count as u64, Ordering::Relaxed);
    }

    /// Who the link is, to its peer: its spool's identity, or one drawn for this process.
    pub(crate) fn identity(&self) -> LinkId {
        *self.identity.get_or_init(LinkId::random)
    }

    /// Tells the spool, if any, that message `number` (and all before it) is settled.
    pub(crate) fn settled(&self, number: u64) {
        if number > 0 {
            if let Some(spool) = self.spool.get() {
                spool.settled(number);
            }
        }
    }

    /// The options in force: the sketch's, or the defaults.
    pub(crate) fn options(&self) -> LinkOptions {
        self.options.get().copied().unwrap_or_default()
    }
}

impl Shared {
    /// The peer's acknowledgement `ack` of message `number` (`text`): counted
    /// as delivered, or as refused when it says `error: …` (and logged),
    /// told to whoever asked, and settled; whether it was delivered.
    pub(crate) fn acknowledged(&self, number: u64, text: &str, answer: Answer, ack: &str) -> bool {
        self.settled(number);
        let delivered = !ack.starts_with("error: ");
        if delivered {
            self.counters.delivered.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                "link to {}: the peer refused {}: {ack}",
                self.url,
                shortened(text)
            );
        }
        // The answer's text is copied only for whoever asked: a message sent
        // and forgotten costs no allocation here.
        if let Some(answer) = answer {
            let ack = ack.to_owned();
            let _ = answer.send(if delivered {
                Ok(ack)
            } else {
                Err(LinkError::Refused(ack))
            });
        }
        delivered
    }

    /// Message `number`, given up on after `attempts` (`reason`): counted,
    /// told to whoever asked, and settled.
    pub(crate) fn dead_lettered(&self, number: u64, answer: Answer, attempts: u32, reason: &str) {
        self.settled(number);
        self.counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
        if let Some(answer) = answer {
            let _ = answer.send(Err(LinkError::DeadLettered {
                attempts,
                reason: reason.to_owned(),
            }));
        }
    }
}

impl LinkSource for Shared {
    fn sample(&self) -> LinkSample {
        let report = self.counters.report();
        let in_flight = self.in_flight.load(Ordering::Relaxed);
        LinkSample {
            delivered: report.delivered,
            refused: report.refused,
            dead_lettered: report.dead_lettered,
            dropped: report.overflowed,
            // What is held and not on the wire waits in the queue.
            queued: report.held.saturating_sub(in_flight),
            in_flight,
            reconnects: self.connections.load(Ordering::Relaxed).saturating_sub(1),
            spool_bytes: self.spool.get().map(|spool| spool.unsettled_bytes()),
        }
    }

    fn ack_time(&self) -> &AckTime {
        &self.ack_time
    }
}

/// A message's text for a log line: quoted, and cut at 40 characters.
pub(crate) fn shortened(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

/// What happened to a link's messages, counted as it happens.
#[derive(Default)]
pub(crate) struct Counters {
    /// Messages queued.
    pub(crate) accepted: AtomicU64,
    /// Acknowledged by the peer.
    pub(crate) delivered: AtomicU64,
    /// Answered `error: …` by the peer.
    pub(crate) refused: AtomicU64,
    /// Given up on after `--link-attempts` failed connections.
    pub(crate) dead_lettered: AtomicU64,
    /// Dropped: the queue was full with `--when-full drop`, or still full
    /// when a stopping sketch's `--stop-timeout` ran out.
    pub(crate) overflowed: AtomicU64,
    /// Resends of the retained message, acknowledged.
    pub(crate) retained_resends: AtomicU64,
    /// Messages an earlier run left in the spool, queued again.
    pub(crate) resent: AtomicU64,
}

impl Counters {
    /// The counts as a report; `held` is what is neither settled nor dropped.
    pub(crate) fn report(&self) -> LinkReport {
        let delivered = self.delivered.load(Ordering::Relaxed);
        let refused = self.refused.load(Ordering::Relaxed);
        let dead_lettered = self.dead_lettered.load(Ordering::Relaxed);
        let accepted = self.accepted.load(Ordering::Relaxed);
        LinkReport {
            delivered,
            refused,
            dead_lettered,
            overflowed: self.overflowed.load(Ordering::Relaxed),
            held: accepted.saturating_sub(delivered + refused + dead_lettered),
            retained_resends: self.retained_resends.load(Ordering::Relaxed),
            resent: self.resent.load(Ordering::Relaxed),
        }
    }
}

/// When a `send` that waits for room in a full queue gives up: the
/// sketch's stop, then its `--stop-timeout`, counted from the first send
/// that saw the stop. A stopping sketch whose links' peers are away still
/// stops, and what its waiting sends held is counted as dropped.
pub(crate) struct Release {
    /// The sketch's stop signal.
    shutdown: Shutdown,
    /// `--stop-timeout`.
    within: Duration,
    /// When waiting sends give up, once the stop was seen.
    deadline: OnceLock<Instant>,
}

impl Release {
    /// Gives up waiting `within` after `shutdown` fires.
    pub(crate) fn new(shutdown: &Shutdown, within: Duration) -> Self {
        Release {
            shutdown: shutdown.clone(),
            within,
            deadline: OnceLock::new(),
        }
    }

    /// Returns when a waiting send gives up.
    pub(crate) async fn released(&self) {
        let mut stop = self.shutdown.clone();
        stop.wait().await;
        let deadline = *self.deadline.get_or_init(|| Instant::now() + self.within);
        tokio::time::sleep_until(deadline).await;
    }
}
