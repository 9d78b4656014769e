//! Prometheus metrics (`--metrics`): the process's registry, and the
//! handles the hot paths count with. A handle is resolved once, when a
//! peer connects, a link is configured or a sketch starts (a lookup under
//! the registry's lock); counting is then an atomic add: no lock, no
//! allocation per message. Links are read when scraped, from the counts
//! their end-of-run lines say. Off until [`enable`]: handles then count
//! into nothing registered, and nothing is timed.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::observe::histogram::AtomicHistogram;
use crate::observe::log;

/// The most distinct `path` labels a sketch gets: a client may connect to
/// any path, and each would be a series; the rest count as `path="other"`.
pub(crate) const MOST_PATHS: usize = 64;

/// The Content-Type of Prometheus' text format 0.0.4 (the default).
pub(crate) const PROMETHEUS_TEXT: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
/// The Content-Type of OpenMetrics text, served when a scraper asks for it.
pub(crate) const OPENMETRICS_TEXT: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether `--metrics` was given.
static ON: AtomicBool = AtomicBool::new(false);
/// The process's metrics, made on first use.
static METRICS: OnceLock<Metrics> = OnceLock::new();

/// A sketch's series: `{sketch}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Of {
    /// The sketch's name.
    sketch: String,
}

/// A path's series: `{sketch,path}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OfPath {
    /// The sketch's name.
    sketch: String,
    /// The path its peers connected to, or `other` past [`MOST_PATHS`].
    path: String,
}

/// A signal's series: `{sketch,signal}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OfSignal {
    /// The sketch's name.
    sketch: String,
    /// The signal's name.
    signal: String,
}

/// A link's series: `{sketch,link}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OfLink {
    /// The sketch's name.
    sketch: String,
    /// Where the link sends, as its end-of-run line names it.
    link: String,
}

/// A link's messages by outcome: `{sketch,link,outcome}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OfOutcome {
    /// The sketch's name.
    sketch: String,
    /// Where the link sends.
    link: String,
    /// `delivered`, `refused`, `dead_lettered` or `dropped`.
    outcome: &'static str,
}

/// Every family of the process, and the registry that encodes them.
struct Metrics {
    /// What a scrape encodes.
    registry: Registry,
    /// `circuit_messages_received_total`.
    received: Family<OfPath, Counter>,
    /// `circuit_acks_sent_total`.
    acks: Family<OfPath, Counter>,
    /// `circuit_refusals_total`.
    refusals: Family<OfPath, Counter>,
    /// `circuit_loop_duration_seconds`.
    loop_seconds: Family<Of, AtomicHistogram>,
    /// `circuit_peers_connected`.
    peers: Family<Of, Gauge>,
    /// `circuit_timer_ticks_total`.
    ticks: Family<Of, Counter>,
    /// `circuit_signal_changes_total`.
    signals: Family<OfSignal, Counter>,
    /// The links, read when scraped.
    links: Arc<Links>,
    /// The distinct paths each sketch has a series for.
    paths: Mutex<HashMap<String, HashSet<String>>>,
}

impl Metrics {
    /// The families, registered.
    fn new() -> Self {
        let mut registry = Registry::default();
        let metrics = Metrics {
            registry: Registry::default(),
            received: Family::default(),
            acks: Family::default(),
            refusals: Family::default(),
            loop_seconds: Family::default(),
            peers: Family::default(),
            ticks: Family::default(),
            signals: Family::default(),
            links: Arc::new(Links::default()),
            paths: Mutex::new(HashMap::new()),
        };
        registry.register(
            "circuit_messages_received",
            "Messages a server's peers sent it",
            metrics.received.clone(),
        );
        registry.register(
            "circuit_acks_sent",
            "Acknowledgements a server sent its peers (its end-of-run line's served messages)",
            metrics.acks.clone(),
        );
        registry.register(
            "circuit_refusals",
            "Messages a server's loop refused (answered error: …), its type unable to read them",
            metrics.refusals.clone(),
        );
        registry.register_with_unit(
            "circuit_loop_duration",
            "Time a server's loop took on one message",
            Unit::Seconds,
            metrics.loop_seconds.clone(),
        );
        registry.register(
            "circuit_peers_connected",
            "Peers connected to a server now",
            metrics.peers.clone(),
        );
        registry.register(
            "circuit_timer_ticks",
            "Ticks a timer sent",
            metrics.ticks.clone(),
        );
        registry.register(
            "circuit_signal_changes",
            "Values a sketch recorded for a signal",
            metrics.signals.clone(),
        );
        registry.register_collector(Box::new(Arc::clone(&metrics.links)));
        Metrics {
            registry,
            ..metrics
        }
    }
}

/// The process's metrics.
fn metrics() -> &'static Metrics {
    METRICS.get_or_init(Metrics::new)
}

/// Turns metrics on for this process (`--metrics`).
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
    metrics();
}

/// Whether metrics are on.
fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// What a scrape reads: Prometheus text 0.0.4, or OpenMetrics when
/// `openmetrics`; with its Content-Type. `None` when metrics are off.
pub fn encode(openmetrics: bool) -> Option<(String, &'static str)> {
    if !on() {
        return None;
    }
    let registry = &metrics().registry;
    let mut text = String::new();
    let encoded = if openmetrics {
        prometheus_client::encoding::text::encode(&mut text, registry)
            .map(|()| (text, OPENMETRICS_TEXT))
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut text, registry)
            .map(|()| (text, PROMETHEUS_TEXT))
    };
    encoded.ok()
}

/// One sketch's series.
#[derive(Clone, Debug)]
pub(crate) struct Sketch {
    /// Its name, the `sketch` label.
    name: Arc<str>,
}

impl Sketch {
    /// The series of sketch `name`.
    pub(crate) fn named(name: &str) -> Self {
        Sketch { name: name.into() }
    }

    /// The label set of this sketch.
    fn of(&self) -> Of {
        Of {
            sketch: self.name.to_string(),
        }
    }

    /// The counters of a peer connected to `path` (resolved once, per connection).
    pub(crate) fn path(&self, path: &str) -> Path {
        if !on() {
            return Path::default();
        }
        let metrics = metrics();
        let path = {
            let mut paths = metrics.paths.lock().unwrap_or_else(PoisonError::into_inner);
            let known = paths.entry(self.name.to_string()).or_default();
            if known.contains(path) || known.len() < MOST_PATHS {
                known.insert(path.to_owned());
                path.to_owned()
            } else {
                "other".to_owned()
            }
        };
        let labels = OfPath {
            sketch: self.name.to_string(),
            path,
        };
        Path {
            received: metrics.received.get_or_create_owned(&labels),
            acks: metrics.acks.get_or_create_owned(&labels),
            refusals: metrics.refusals.get_or_create_owned(&labels),
            loop_seconds: Some(metrics.loop_seconds.get_or_create_owned(&self.of())),
        }
    }

    /// Counts a peer connected until the returned guard is dropped.
    pub(crate) fn peer(&self) -> Connected {
        Connected(on().then(|| {
            let gauge = metrics().peers.get_or_create_owned(&self.of());
            gauge.inc();
            gauge
        }))
    }

    /// The counter of this timer's ticks.
    pub(crate) fn ticks(&self) -> Ticks {
        Ticks(on().then(|| metrics().ticks.get_or_create_owned(&self.of())))
    }

    /// Reads link `link` (its target) from `source` on every scrape.
    pub(crate) fn link(&self, link: &str, source: Arc<dyn LinkSource>) {
        if on() {
            metrics().links.add(&self.name, link, source);
        }
    }
}

/// The counters of one peer's path.
#[derive(Clone, Debug, Default)]
pub(crate) struct Path {
    /// Messages received.
    received: Counter,
    /// Acknowledgements sent.
    acks: Counter,
    /// Messages refused.
    refusals: Counter,
    /// The loop's time per message, when metrics are on.
    loop_seconds: Option<AtomicHistogram>,
}

impl Path {
    /// A message arrived; when metrics are on, the time the loop starts on it.
    pub(crate) fn received(&self) -> Option<Instant> {
        self.received.inc();
        self.loop_seconds.as_ref().map(|_| Instant::now())
    }

    /// The loop answered the message that arrived at `since`.
    pub(crate) fn looped(&self, since: Option<Instant>) {
        if let (Some(histogram), Some(since)) = (&self.loop_seconds, since) {
            histogram.observe(since.elapsed().as_secs_f64());
        }
    }

    /// An acknowledgement was written.
    pub(crate) fn acked(&self) {
        self.acks.inc();
    }

    /// A message was refused.
    pub(crate) fn refused(&self) {
        self.refusals.inc();
    }
}

/// A peer counted in `circuit_peers_connected` while this lives.
#[derive(Debug)]
pub(crate) struct Connected(Option<Gauge>);

impl Drop for Connected {
    fn drop(&mut self) {
        if let Some(gauge) = &self.0 {
            gauge.dec();
        }
    }
}

/// A timer's tick counter.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ticks(Option<Counter>);

impl Ticks {
    /// One more tick sent.
    pub(crate) fn sent(&self) {
        if let Some(counter) = &self.0 {
            counter.inc();
        }
    }
}

/// The time a link's peer takes to acknowledge (`circuit_link_ack_seconds`).
#[derive(Clone, Debug, Default)]
pub(crate) struct AckTime(AtomicHistogram);

impl AckTime {
    /// No acknowledgement timed yet.
    pub(crate) fn new() -> Self {
        AckTime::default()
    }

    /// When a message goes on the wire: now, when metrics are on.
    pub(crate) fn start() -> Option<Instant> {
        on().then(Instant::now)
    }

    /// The message sent at `since` was acknowledged.
    pub(crate) fn acknowledged(&self, since: Option<Instant>) {
        if let Some(since) = since {
            self.0.observe(since.elapsed().as_secs_f64());
        }
    }
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

/// The links of the process, read on every scrape.
#[derive(Default)]
struct Links(Mutex<Vec<Metered>>);

/// A link of a sketch: the sketch's name, the link's, and where its counts are.
type Metered = (Arc<str>, String, Arc<dyn LinkSource>);

/// A gauge of a link: its name, its help, and its value in a sample (if it has one).
type LinkGauge = (&'static str, &'static str, fn(&LinkSample) -> Option<u64>);

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Links")
    }
}

impl Links {
    /// Adds link `link` of `sketch` (once; configured again, it keeps its place).
    fn add(&self, sketch: &Arc<str>, link: &str, source: Arc<dyn LinkSource>) {
        let mut links = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        links.retain(|(s, l, _)| !(s == sketch && l == link));
        links.push((Arc::clone(sketch), link.to_owned(), source));
    }
}

impl Collector for Links {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let links = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let samples: Vec<(OfLink, LinkSample)> = links
            .iter()
            .map(|(sketch, link, source)| {
                let of = OfLink {
                    sketch: sketch.to_string(),
                    link: link.clone(),
                };
                (of, source.sample())
            })
            .collect();
        let mut family = encoder.encode_descriptor(
            "circuit_link_messages",
            "A link's messages by outcome (its end-of-run line's counts)",
            None,
            MetricType::Counter,
        )?;
        for (of, sample) in &samples {
            for (outcome, count) in [
                ("delivered", sample.delivered),
                ("refused", sample.refused),
                ("dead_lettered", sample.dead_lettered),
                ("dropped", sample.dropped),
            ] {
                let labels = OfOutcome {
                    sketch: of.sketch.clone(),
                    link: of.link.clone(),
                    outcome,
                };
                ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
            }
        }
        let gauges: [LinkGauge; 3] = [
            (
                "circuit_link_queued",
                "Messages waiting in a link's queue",
                |s| Some(s.queued),
            ),
            (
                "circuit_link_in_flight",
                "Messages a link sent and its peer has not acknowledged yet",
                |s| Some(s.in_flight),
            ),
            (
                "circuit_link_spool_bytes",
                "Bytes of unsettled messages in a link's spool (--spool)",
                |s| s.spool_bytes,
            ),
        ];
        for (name, help, value) in gauges {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (of, sample) in &samples {
                if let Some(value) = value(sample) {
                    let value = i64::try_from(value).unwrap_or(i64::MAX);
                    ConstGauge::new(value).encode(family.encode_family(of)?)?;
                }
            }
        }
        let mut family = encoder.encode_descriptor(
            "circuit_link_reconnects",
            "Connections a link made again after its first",
            None,
            MetricType::Counter,
        )?;
        for (of, sample) in &samples {
            ConstCounter::new(sample.reconnects).encode(family.encode_family(of)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "circuit_link_ack",
            "Time a link's peer took to acknowledge a message",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for ((of, _), (_, _, source)) in samples.iter().zip(links.iter()) {
            source.ack_time().0.encode(family.encode_family(of)?)?;
        }
        Ok(())
    }
}

/// A signal's counter, with the sketch name its key's address is of.
type SignalCounter = (Arc<str>, Counter);

thread_local! {
    /// This thread's signal counters, by the sketch's shared name and the
    /// signal's static name (their addresses): found without a lock.
    /// Each entry keeps the name it was made for, so that its address is
    /// not reused by another sketch's.
    static SIGNALS: RefCell<HashMap<(usize, usize), SignalCounter>> = RefCell::new(HashMap::new());
}

/// Counts a value recorded for signal `name` of the sketch running now.
pub(crate) fn signal(name: &'static str) {
    if !on() {
        return;
    }
    let sketch = log::current();
    let key = (
        Arc::as_ptr(&sketch).cast::<u8>() as usize,
        name.as_ptr() as usize,
    );
    SIGNALS.with(|counters| {
        let mut counters = counters.borrow_mut();
        // A sketch's name is shared by its every line: its address stays put
        // while it runs, so a key is made once per signal.
        counters
            .entry(key)
            .or_insert_with(|| {
                let counter = metrics().signals.get_or_create_owned(&OfSignal {
                    sketch: sketch.to_string(),
                    signal: name.to_owned(),
                });
                (Arc::clone(&sketch), counter)
            })
            .1
            .inc();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sketch_gets_at_most_64_paths_and_the_rest_count_as_other() {
        enable();
        let sketch = Sketch::named("capped");
        for n in 0..MOST_PATHS + 6 {
            let path = sketch.path(&format!("/p{n}"));
            path.received();
            path.acked();
        }
        // A path it has already keeps its own series.
        sketch.path("/p0").acked();
        let (text, _) = encode(false).unwrap();
        let paths: Vec<&str> = text
            .lines()
            .filter(|line| line.starts_with("circuit_acks_sent_total{sketch=\"capped\""))
            .collect();
        assert_eq!(paths.len(), MOST_PATHS + 1, "{text}");
        assert!(paths.contains(&"circuit_acks_sent_total{sketch=\"capped\",path=\"other\"} 6"));
        assert!(paths.contains(&"circuit_acks_sent_total{sketch=\"capped\",path=\"/p0\"} 2"));
    }

    #[test]
    fn the_histogram_is_cumulative_in_both_formats() {
        let histogram = AtomicHistogram::new(&[0.001, 0.1]);
        for value in [0.0005, 0.05, 0.07, 3.0] {
            histogram.observe(value);
        }
        let mut registry = Registry::default();
        registry.register_with_unit("took", "Time taken", Unit::Seconds, histogram);
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        for line in [
            "took_seconds_bucket{le=\"0.001\"} 1",
            "took_seconds_bucket{le=\"0.1\"} 3",
            "took_seconds_bucket{le=\"+Inf\"} 4",
            "took_seconds_count 4",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        let mut open = String::new();
        prometheus_client::encoding::text::encode(&mut open, &registry).unwrap();
        assert!(open.contains("took_seconds_bucket{le=\"0.1\"} 3"), "{open}");
        assert!(open.ends_with("# EOF\n"), "{open}");
    }

    #[test]
    fn a_peer_is_connected_while_its_guard_lives() {
        enable();
        let sketch = Sketch::named("guarded");
        let series = "circuit_peers_connected{sketch=\"guarded\"}";
        let now = || {
            let (text, _) = encode(false).unwrap();
            text.lines()
                .find_map(|line| line.strip_prefix(series)?.trim().parse::<i64>().ok())
        };
        let first = sketch.peer();
        let second = sketch.peer();
        assert_eq!(now(), Some(2));
        drop(first);
        assert_eq!(now(), Some(1));
        drop(second);
        assert_eq!(now(), Some(0));
    }
}
