//! The stand-in for `metrics` in a build without the `metrics` feature:
//! the same handles, counting nothing; `--metrics` is refused at start.

use std::sync::Arc;
use std::time::Instant;

/// Metrics are never on in this build (the flag is refused first).
pub fn enable() {}

/// Nothing to scrape.
pub fn encode(_openmetrics: bool) -> Option<(String, &'static str)> {
    None
}

/// One sketch's series: none.
#[derive(Clone, Debug)]
pub(crate) struct Sketch;

impl Sketch {
    /// No series.
    pub(crate) fn named(_name: &str) -> Self {
        Sketch
    }

    /// No counters.
    pub(crate) fn path(&self, _path: &str) -> Path {
        Path
    }

    /// No gauge.
    pub(crate) fn peer(&self) -> Connected {
        Connected
    }

    /// No counter.
    pub(crate) fn ticks(&self) -> Ticks {
        Ticks
    }

    /// Not read.
    pub(crate) fn link(&self, _link: &str, _source: Arc<dyn LinkSource>) {}
}

/// A path's counters: none.
#[derive(Clone, Debug, Default)]
pub(crate) struct Path;

impl Path {
    /// Nothing timed.
    #[inline]
    pub(crate) fn received(&self) -> Option<Instant> {
        None
    }

    /// Nothing observed.
    #[inline]
    pub(crate) fn looped(&self, _since: Option<Instant>) {}

    /// Nothing counted.
    #[inline]
    pub(crate) fn acked(&self) {}

    /// Nothing counted.
    #[inline]
    pub(crate) fn refused(&self) {}
}

/// A connected peer, not counted.
#[derive(Debug)]
pub(crate) struct Connected;

/// A timer's ticks, not counted.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ticks;

impl Ticks {
    /// Nothing counted.
    #[inline]
    pub(crate) fn sent(&self) {}
}

/// A link's time to acknowledge, not measured.
#[derive(Clone, Debug, Default)]
pub(crate) struct AckTime;

impl AckTime {
    /// Nothing to time.
    pub(crate) fn new() -> Self {
        AckTime
    }

    /// Never timed.
    #[inline]
    pub(crate) fn start() -> Option<Instant> {
        None
    }

    /// Nothing observed.
    #[inline]
    pub(crate) fn acknowledged(&self, _since: Option<Instant>) {}
}

/// A link's state when scraped.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LinkSample {
    /// Acknowledged by the peer.
    pub(crate) delivered: u64,
    /// Answered `error: …` by the peer.
    pub(crate) refused: u64,
    /// Given up on after failed connections.
    pub(crate) dead_lettered: u64,
    /// Dropped, its queue full.
    pub(crate) dropped: u64,
    /// Waiting in its queue, not yet sent.
    pub(crate) queued: u64,
    /// Sent, not yet acknowledged.
    pub(crate) in_flight: u64,
    /// Connections made again after the first.
    pub(crate) reconnects: u64,
    /// The bytes its spool holds unsettled, when it has one.
    pub(crate) spool_bytes: Option<u64>,
}

/// What a link shows a scrape.
pub(crate) trait LinkSource: Send + Sync + 'static {
    /// Its counts now.
    fn sample(&self) -> LinkSample;
    /// Its peer's time to acknowledge.
    fn ack_time(&self) -> &AckTime;
}

/// Nothing counted.
#[inline]
pub(crate) fn signal(_name: &'static str) {}
