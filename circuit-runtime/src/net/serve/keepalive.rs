//! A peer's keepalive: a peer silent for an interval (`--ping-interval`) gets
//! a ping; one still silent an interval later is gone. A busy connection
//! reads no clock per frame (see `wire::watchdog`).

use std::pin::Pin;
use std::time::Duration;

use futures_util::SinkExt;
use tokio::time::{sleep, Instant, Sleep};
use tokio_tungstenite::tungstenite::{Bytes, Message};

use crate::net::serve::end::End;
use crate::net::wire::socket::Frames;
use crate::net::wire::watchdog::Watchdog;

/// The keepalive of one peer.
pub(crate) struct Keepalive {
    /// Whether there is one (a zero interval turns it off).
    on: bool,
    /// Counts the checks that found the peer silent.
    watchdog: Watchdog,
    /// Whether a ping is out, unanswered.
    pinged: bool,
    /// The time between two checks.
    every: Duration,
    /// The next check: one timer for the whole conversation, re-armed only
    /// when it fires, not per frame.
    check: Pin<Box<Sleep>>,
}

impl Keepalive {
    /// A keepalive that pings after `interval` of silence (none if zero).
    pub(crate) fn new(interval: Duration) -> Keepalive {
        let every = Watchdog::every(interval);
        Keepalive {
            on: !interval.is_zero(),
            watchdog: Watchdog::default(),
            pinged: false,
            every,
            check: Box::pin(sleep(every)),
        }
    }

    /// Whether it checks at all.
    pub(crate) fn on(&self) -> bool {
        self.on
    }

    /// The next check, to wait for beside the peer's next frame.
    pub(crate) fn due(&mut self) -> &mut Pin<Box<Sleep>> {
        &mut self.check
    }

    /// The peer sent something: it is there, and any ping is answered.
    pub(crate) fn heard(&mut self) {
        self.watchdog.heard();
        self.pinged = false;
    }

    /// One check, when it is due: nothing, a ping to a peer silent for an
    /// interval, or the end for a peer that did not answer the last one.
    pub(crate) async fn check(&mut self, socket: &mut impl Frames) -> Result<(), End> {
        self.check.as_mut().reset(Instant::now() + self.every);
        if !self.watchdog.silent_for_a_span() {
            return Ok(());
        }
        if self.pinged {
            return Err(End::silent(socket).await);
        }
        if socket.send(Message::Ping(Bytes::new())).await.is_err() {
            return Err(End::Dropped);
        }
        self.pinged = true;
        Ok(())
    }
}
