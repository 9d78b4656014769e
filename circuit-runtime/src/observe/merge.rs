//! One recording of a circuit spread over many hosts: the changes the
//! sketches on other hosts stream (`net::serve::signals`), each moved from
//! its host's clock to this one's by an offset estimated as NTP does, placed
//! in this host's recording so that no message is shown received before it
//! was sent, and each host's offset and uncertainty kept for the page.
//!
//! Causal order: a *send* is a link's lane (`iopin.buzzer.0.out`, one event
//! per message given to the link) or a timer's `tick`; a *receive* is a
//! sketch's `in` lane (`buzzer.in`, the path and the message). A receive on
//! another host is paired with the oldest unpaired send of the same text by
//! another sketch; when the two hosts' corrections put the receive at or
//! before that send, by no more than their uncertainties together (plus
//! [`DRIFT`]), the receive is moved to just after the send, and each later
//! change of its sketch keeps after it. A pair further apart than that is
//! not one the correction inverted (the text matched by chance): nothing moves.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::observe::inputs;
use crate::observe::outputs;
use crate::observe::trace::{Change, HostView, Trace};
use crate::observe::value::Value;

/// The event lane that says a sketch elsewhere cannot be reached (`1`, from
/// when its stream was lost) or is back (`0`): `buzzer._gone`. A signal of a
/// sketch's own is named in Rust, and cannot start with `_` and be this one
/// by chance unless so written.
pub(crate) const GONE: &str = "_gone";

/// Time exchanges kept per host: the estimate is the one of these with the
/// shortest round trip, whose asymmetry can be least.
const EXCHANGES: usize = 16;

/// What a clock may drift, in nanoseconds, between the exchange an offset
/// came from and a change it corrects (a second apart, at most a few
/// hundred parts per million): added to the window within which a receive
/// is moved after its send.
const DRIFT: u64 = 1_000_000;

/// Sends kept unpaired, per text: a link whose receiver is not recorded
/// (out of the circuit, or on this host) never has its sends paired.
const UNPAIRED: usize = 1_024;

/// Signal names learnt from other hosts: beyond this many, their changes
/// are dropped (with a warning), so that a host cannot fill this one's memory.
const NAMES: usize = 4_096;

/// One time exchange, each time in nanoseconds since the Unix epoch: `t0`
/// this host sent its ping, `t1` the other received it and `t2` answered
/// (by its clock), `t3` this host received the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Exchange {
    /// Our ping's sending, by our clock.
    pub(crate) t0: u64,
    /// Its arrival, by theirs.
    pub(crate) t1: u64,
    /// Their answer's sending, by theirs.
    pub(crate) t2: u64,
    /// Its arrival, by ours.
    pub(crate) t3: u64,
}

impl Exchange {
    /// How far their clock is ahead of ours: `((t1 − t0) + (t2 − t3)) / 2`.
    pub(crate) fn offset(&self) -> i64 {
        let [t0, t1, t2, t3] = [self.t0, self.t1, self.t2, self.t3].map(i128::from);
        i64::try_from(((t1 - t0) + (t2 - t3)) / 2).unwrap_or(0)
    }

    /// The round trip, less their time answering: `(t3 − t0) − (t2 − t1)`.
    pub(crate) fn delay(&self) -> u64 {
        let [t0, t1, t2, t3] = [self.t0, self.t1, self.t2, self.t3].map(i128::from);
        u64::try_from((t3 - t0) - (t2 - t1)).unwrap_or(0)
    }
}

/// A host's clock as the recent exchanges tell it.
#[derive(Default)]
pub(crate) struct Clock {
    /// The last [`EXCHANGES`] exchanges: offset, round trip.
    recent: VecDeque<(i64, u64)>,
}

impl Clock {
    /// Takes in one exchange.
    pub(crate) fn add(&mut self, exchange: Exchange) {
        if self.recent.len() == EXCHANGES {
            self.recent.pop_front();
        }
        self.recent.push_back((exchange.offset(), exchange.delay()));
    }

    /// The offset of the exchange with the shortest round trip and its
    /// uncertainty, half that round trip (the most an unknown asymmetry
    /// of the two ways can put it off); `None` before the first exchange.
    pub(crate) fn estimate(&self) -> Option<(i64, u64)> {
        self.recent
            .iter()
            .min_by_key(|(_, delay)| *delay)
            .map(|&(offset, delay)| (offset, delay / 2))
    }
}

/// A send waiting for its receive.
struct Send {
    /// When, on this host's timeline.
    at: u64,
    /// The sketch that sent it.
    sketch: Arc<str>,
    /// Its host's uncertainty then (0 for this host).
    uncertainty: u64,
}

/// A sketch on another host, as its stream told it.
struct Elsewhere {
    /// Its name, shared by its changes.
    name: Arc<str>,
    /// Its host's place in `hosts`.
    host: usize,
    /// The recording its process streams (its start on its wall clock):
    /// a new one is a restart, whose changes are all new.
    run: Option<u64>,
    /// The time (by its clock) of the last change taken from that run, so
    /// that what a reconnection streams again is not placed twice.
    last_sent: Option<u64>,
    /// Where its last change was placed: each one goes after it.
    last_at: Option<u64>,
    /// Whether its stream is lost.
    gone: bool,
}

/// A host whose sketches are merged.
struct Host {
    /// What the page shows of it.
    view: HostView,
    /// Its clock.
    clock: Clock,
}

/// Places the changes of sketches elsewhere in this host's recording.
pub(crate) struct Merger {
    /// This host's recording.
    trace: Arc<Trace>,
    /// The hosts, in the order first named.
    hosts: Vec<Host>,
    /// The sketches elsewhere, by name.
    sketches: HashMap<String, Elsewhere>,
    /// Sends not paired yet, by text (as the lanes hold it, escaped).
    sends: HashMap<String, VecDeque<Send>>,
    /// Receives moved after their sends, for the end-of-recording line.
    moved: u64,
}

impl Merger {
    /// A merger into `trace` of `elsewhere`'s changes: each sketch's name and its host's.
    pub(crate) fn new(trace: Arc<Trace>, elsewhere: &[(String, String)]) -> Merger {
        let mut hosts: Vec<Host> = Vec::new();
        let mut sketches = HashMap::new();
        for (sketch, host) in elsewhere {
            let at = match hosts.iter().position(|known| known.view.host == *host) {
                Some(at) => at,
                None => {
                    hosts.push(Host {
                        view: HostView {
                            host: host.clone(),
                            sketches: Vec::new(),
                            offset: None,
                            uncertainty: None,
                            gone: None,
                        },
                        clock: Clock::default(),
                    });
                    hosts.len() - 1
                }
            };
            hosts[at].view.sketches.push(sketch.clone());
            sketches.insert(
                sketch.clone(),
                Elsewhere {
                    name: sketch.as_str().into(),
                    host: at,
                    run: None,
                    last_sent: None,
                    last_at: None,
                    gone: false,
                },
            );
        }
        let merger = Merger {
            trace,
            hosts,
            sketches,
            sends: HashMap::new(),
            moved: 0,
        };
        merger.show_hosts();
        merger
    }

    /// Whether `sketch` is one of those merged (else its changes are this host's own).
    pub(crate) fn merges(&self, sketch: &str) -> bool {
        self.sketches.contains_key(sketch)
    }

    /// The host of `sketch`, if it is merged.
    pub(crate) fn host_of(&self, sketch: &str) -> Option<&str> {
        let known = self.sketches.get(sketch)?;
        Some(self.hosts[known.host].view.host.as_str())
    }

    /// Each host's offset and uncertainty, nanoseconds, where known.
    pub(crate) fn offsets(&self) -> Vec<(String, Option<(i64, u64)>)> {
        self.hosts
            .iter()
            .map(|host| (host.view.host.clone(), host.clock.estimate()))
            .collect()
    }

    /// How many receives were moved after their sends.
    pub(crate) fn moved(&self) -> u64 {
        self.moved
    }

    /// Takes in a time exchange with `sketch`'s host.
    pub(crate) fn exchange(&mut self, sketch: &str, exchange: Exchange) {
        let Some(at) = self.sketches.get(sketch).map(|known| known.host) else {
            return;
        };
        let host = &mut self.hosts[at];
        let before = host.clock.estimate();
        host.clock.add(exchange);
        let after = host.clock.estimate();
        if after != before {
            host.view.offset = after.map(|(offset, _)| offset);
            host.view.uncertainty = after.map(|(_, uncertainty)| uncertainty);
            self.show_hosts();
        }
    }

    /// `sketch`'s stream began: from the recording `run` of its process. A
    /// sketch that was gone is back.
    pub(crate) fn hello(&mut self, sketch: &str, run: u64) {
        let Some(known) = self.sketches.get_mut(sketch) else {
            return;
        };
        if known.run != Some(run) {
            known.run = Some(run);
            known.last_sent = None;
        }
        if known.gone {
            known.gone = false;
            let name = Arc::clone(&known.name);
            let host = known.host;
            self.mark(&name, false);
            self.hosts[host].view.gone = None;
            self.show_hosts();
        }
    }

    /// `sketch`'s stream is lost: it is marked gone from now, and its host
    /// once every sketch of it is.
    pub(crate) fn gone(&mut self, sketch: &str) {
        let Some(known) = self.sketches.get_mut(sketch) else {
            return;
        };
        if known.gone {
            return;
        }
        known.gone = true;
        let name = Arc::clone(&known.name);
        let host = known.host;
        let at = self.mark(&name, true);
        let all_gone = self
            .sketches
            .values()
            .filter(|other| other.host == host)
            .all(|other| other.gone || other.run.is_none());
        if all_gone && self.hosts[host].view.gone.is_none() {
            self.hosts[host].view.gone = Some(at);
            self.show_hosts();
        }
    }

    /// Places `sketch`'s `_gone` lane at `gone`, now (after its last change).
    fn mark(&mut self, sketch: &Arc<str>, gone: bool) -> u64 {
        let now = self.trace.at_wall(i128::from(self.trace.wall_now()));
        let at = match self.sketches.get_mut(&**sketch) {
            Some(known) => {
                let at = known.last_at.map_or(now, |last| now.max(last + 1));
                known.last_at = Some(at);
                at
            }
            None => now,
        };
        self.trace
            .place(Arc::clone(sketch), GONE, Value::Bit(gone), at, true);
        at
    }

    /// Notes a change recorded on this host: a send, to pair with its receive elsewhere.
    pub(crate) fn local(&mut self, change: &Change) {
        if let Some(text) = sent_text(change.name, &change.value) {
            self.sent(text, change.at, Arc::clone(&change.sketch), 0);
        }
    }

    /// Places a change `sketch` streamed: `name` took `value` at `sent` (by
    /// its host's clock, nanoseconds since the Unix epoch), an event lane's
    /// when `event`. A change its stream gave before (after a reconnection)
    /// is left out.
    pub(crate) fn change(
        &mut self,
        sketch: &str,
        sent: u64,
        name: &str,
        value: Value,
        event: bool,
    ) {
        let Some(known) = self.sketches.get_mut(sketch) else {
            return;
        };
        if known.last_sent.is_some_and(|last| sent <= last) {
            return;
        }
        known.last_sent = Some(sent);
        let Some(name) = intern(name) else {
            return;
        };
        let host = &self.hosts[known.host];
        let (offset, uncertainty) = host.clock.estimate().unwrap_or((0, 0));
        let mut at = self.trace.at_wall(i128::from(sent) - i128::from(offset));
        let sketch_name = Arc::clone(&known.name);
        if name == inputs::LANE {
            if let Some(send) = received_text(&value).and_then(|text| self.pair(text, &sketch_name))
            {
                let window = send.uncertainty + uncertainty + DRIFT;
                if send.at >= at && send.at - at <= window {
                    at = send.at + 1;
                    self.moved += 1;
                }
            }
        }
        let known = self
            .sketches
            .get_mut(sketch)
            .expect("looked up above, and never removed");
        at = known.last_at.map_or(at, |last| at.max(last + 1));
        known.last_at = Some(at);
        if let Some(text) = sent_text(name, &value) {
            self.sent(text, at, Arc::clone(&sketch_name), uncertainty);
        }
        self.trace.place(sketch_name, name, value, at, event);
    }

    /// Keeps a send of `text` by `sketch` at `at` for its receive.
    fn sent(&mut self, text: String, at: u64, sketch: Arc<str>, uncertainty: u64) {
        let waiting = self.sends.entry(text).or_default();
        if waiting.len() == UNPAIRED {
            waiting.pop_front();
        }
        waiting.push_back(Send {
            at,
            sketch,
            uncertainty,
        });
    }

    /// The oldest unpaired send of `text` by a sketch other than `receiver`, taken.
    fn pair(&mut self, text: &str, receiver: &Arc<str>) -> Option<Send> {
        let waiting = self.sends.get_mut(text)?;
        let at = waiting.iter().position(|send| send.sketch != *receiver)?;
        waiting.remove(at)
    }

    /// Tells the page what is known of the hosts.
    fn show_hosts(&self) {
        self.trace
            .hosts(self.hosts.iter().map(|host| host.view.clone()).collect());
    }
}

/// The text a change sent, as a receive's lane holds it, if it is a send:
/// a link's lane's event, or a timer's tick (whose message is its number).
fn sent_text(name: &str, value: &Value) -> Option<String> {
    match value {
        Value::Text(text) if outputs::is_lane(name) => Some(text.to_string()),
        Value::Unsigned(tick) if name == "tick" => Some(tick.to_string()),
        _ => None,
    }
}

/// The message of a receive's lane value (`/pin%201`: `1`), as escaped.
fn received_text(value: &Value) -> Option<&str> {
    match value {
        Value::Text(lane) => lane.split_once("%20").map(|(_, text)| text),
        _ => None,
    }
}

/// `name` kept for the life of the process, once; `None` past [`NAMES`] names.
fn intern(name: &str) -> Option<&'static str> {
    static KNOWN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut known = KNOWN
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(kept) = known.get(name) {
        return Some(kept);
    }
    if known.len() >= NAMES {
        tracing::warn!("over {NAMES} signal names from other hosts: {name} is not recorded");
        return None;
    }
    // A circuit has a handful of signals: this leaks a few short names, once.
    let kept: &'static str = Box::leak(name.to_owned().into_boxed_str());
    known.insert(kept);
    Some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An exchange with a host `offset` ns ahead, `there` ns each way, answered at once.
    fn exchange(t0: u64, offset: i64, there: u64, back: u64) -> Exchange {
        let t1 = (i128::from(t0 + there) + i128::from(offset)) as u64;
        let t3 = t0 + there + back;
        Exchange { t0, t1, t2: t1, t3 }
    }

    #[test]
    fn the_offset_is_the_one_of_the_shortest_round_trip() {
        let ahead = 30_000_000_000i64;
        let mut clock = Clock::default();
        assert_eq!(clock.estimate(), None);
        // A slow way there puts an exchange off by half the asymmetry.
        clock.add(exchange(1_000, ahead, 900_000, 100_000));
        clock.add(exchange(2_000_000, ahead, 50_000, 50_000));
        clock.add(exchange(3_000_000, ahead, 100_000, 300_000));
        assert_eq!(clock.estimate(), Some((ahead, 50_000)));
        let behind = exchange(50_000, -7_000, 10, 30);
        assert_eq!((behind.offset(), behind.delay()), (-7_010, 40));
    }

    #[test]
    fn changes_elsewhere_are_moved_by_their_hosts_offset_and_keep_their_order() {
        let trace = Arc::new(Trace::new());
        trace.keep_all();
        let start = trace.wall_at(0);
        let mut merger = Merger::new(Arc::clone(&trace), &[("iopin".into(), "h2".into())]);
        // h2 is 30 s ahead; exchanges 1 ms after the start.
        let ahead = 30_000_000_000i64;
        merger.exchange("iopin", exchange(start + 1_000_000, ahead, 20_000, 20_000));
        let theirs = |ns: u64| (i128::from(start + ns) + i128::from(ahead)) as u64;
        merger.change("iopin", theirs(5_000_000), "level", Value::Bit(true), false);
        merger.change(
            "iopin",
            theirs(6_000_000),
            "level",
            Value::Bit(false),
            false,
        );
        // Streamed again after a reconnection: left out.
        merger.change("iopin", theirs(5_000_000), "level", Value::Bit(true), false);
        let kept = trace.kept();
        let at: Vec<u64> = kept.iter().map(|change| change.at).collect();
        assert_eq!(at, [5_000_000, 6_000_000]);
        assert_eq!(merger.offsets(), [("h2".to_owned(), Some((ahead, 20_000)))]);
    }

    #[test]
    fn a_receive_the_correction_put_before_its_send_is_moved_after_it() {
        let trace = Arc::new(Trace::new());
        trace.keep_all();
        let start = trace.wall_at(0);
        let mut merger = Merger::new(Arc::clone(&trace), &[("buzzer".into(), "h3".into())]);
        // h3 is 0.1 ms behind; a slow way there puts the estimate 0.5 ms off,
        // as far as its uncertainty allows.
        merger.exchange("buzzer", exchange(start, -100_000, 1_000_000, 0));
        assert_eq!(merger.offsets()[0].1, Some((400_000, 500_000)));
        // Sent here at 10 ms; received there 0.2 ms later, which the estimate puts before.
        trace.place(
            "iopin".into(),
            "buzzer.0.out",
            Value::Text("1".into()),
            10_000_000,
            true,
        );
        merger.local(&trace.kept()[0]);
        let received = start + 10_200_000 - 100_000;
        merger.change(
            "buzzer",
            received,
            "in",
            Value::Text("/pin%201".into()),
            true,
        );
        merger.change("buzzer", received + 10, "buzz", Value::Bit(true), false);
        let kept = trace.kept();
        let order: Vec<(&str, u64)> = kept.iter().map(|c| (c.name, c.at)).collect();
        assert_eq!(
            order,
            [
                ("buzzer.0.out", 10_000_000),
                ("in", 10_000_001),
                ("buzz", 10_000_002)
            ]
        );
        assert_eq!(merger.moved(), 1);
        // A send long after is not this receive's: nothing moves.
        trace.place(
            "iopin".into(),
            "buzzer.0.out",
            Value::Text("0".into()),
            90_000_000,
            true,
        );
        merger.local(&trace.kept()[3]);
        merger.change(
            "buzzer",
            start + 20_000_000,
            "in",
            Value::Text("/pin%200".into()),
            true,
        );
        assert_eq!(trace.kept()[3].at, 19_600_000);
    }

    #[test]
    fn a_lost_stream_marks_its_sketch_and_host_gone_until_it_is_back() {
        let trace = Arc::new(Trace::new());
        trace.keep_all();
        let mut merger = Merger::new(Arc::clone(&trace), &[("buzzer".into(), "h3".into())]);
        merger.hello("buzzer", 1);
        merger.gone("buzzer");
        merger.gone("buzzer");
        assert!(trace.watch().hosts[0].gone.is_some());
        merger.hello("buzzer", 2);
        assert_eq!(trace.watch().hosts[0].gone, None);
        let gone: Vec<Value> = trace
            .kept()
            .into_iter()
            .filter(|change| change.name == GONE)
            .map(|change| change.value)
            .collect();
        assert_eq!(gone, [Value::Bit(true), Value::Bit(false)]);
    }
}
