//! The recorder: every signal change with its time, kept for a VCD file and
//! streamed live to watchers such as the analyzer page.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};
// tokio's clock, so that under `--sim` a recording's times are the simulated ones.
use tokio::time::Instant;

use tokio::sync::broadcast;

use crate::observe::value::Value;

/// Changes kept for a VCD file; beyond this the file is cut short (with a warning),
/// so that a long run cannot eat the machine's memory.
const KEEP_AT_MOST: usize = 2_000_000;

/// Changes kept for pages that open late: they get these, plus totals of older ones.
const HISTORY: usize = 20_000;

/// Changes a page may fall behind before it is dropped (it reconnects and rebuilds).
const LIVE_BACKLOG: usize = 4_096;

/// The recorder of this process, once a command has started one.
static TRACE: OnceLock<Arc<Trace>> = OnceLock::new();

/// One recorded change.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Nanoseconds since recording started; strictly increasing, so that two
    /// changes of one signal never share a timestamp.
    pub at: u64,
    /// The sketch that recorded it, such as `iopin` (shared with its log scope).
    pub sketch: Arc<str>,
    /// The signal's name within its sketch, such as `level`.
    pub name: &'static str,
    /// The new value.
    pub value: Value,
}

impl Change {
    /// The signal's full name, `sketch.name`.
    pub fn signal(&self) -> String {
        format!("{}.{}", self.sketch, self.name)
    }
}

/// What a live watcher receives.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A signal changed.
    Change(Change),
    /// What is known of the hosts whose sketches this recording merges
    /// (see `observe::merge`): all of them, each time one changes.
    Hosts(Arc<[HostView]>),
    /// The run is over; the summary line says how it went.
    End {
        /// Nanoseconds since recording started.
        at: u64,
        /// The run's summary line.
        summary: Arc<str>,
    },
}

/// One host whose sketches' changes a recording merges, as the page shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct HostView {
    /// Its name in the circuit file (`host = "h2"`).
    pub host: String,
    /// Its sketches whose changes are merged, by name.
    pub sketches: Vec<String>,
    /// How far its clock is ahead of this host's, in nanoseconds (behind
    /// when negative); `None` until its first time exchange.
    pub offset: Option<i64>,
    /// How far off that offset may be, in nanoseconds: half the round trip
    /// of the exchange it came from.
    pub uncertainty: Option<u64>,
    /// Since when (nanoseconds since recording started) none of its sketches
    /// can be reached, if so.
    pub gone: Option<u64>,
}

/// Counts of one signal's changes that fell out of the history.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// Changes recorded, repeats included.
    pub samples: u64,
    /// Low-to-high transitions (the level before the first change is low).
    pub rises: u64,
    /// Changes whose value differs from the one before (a wire starts low; a
    /// bus's first value counts).
    pub edges: u64,
    /// The last value, if any.
    pub last: Option<Value>,
}

impl Totals {
    /// Counts one more change.
    fn add(&mut self, value: &Value) {
        let before_high = self.last.as_ref().is_some_and(Value::is_high);
        if !before_high && value.is_high() {
            self.rises += 1;
        }
        let differs = match &self.last {
            Some(last) => last != value,
            // A wire starts low; a bus starts with no value, so its first sample is an edge.
            None => !matches!(value, Value::Bit(false)),
        };
        if differs {
            self.edges += 1;
        }
        self.samples += 1;
        self.last = Some(value.clone());
    }
}

/// What a watcher gets when it starts: the recent past, then the live feed.
pub struct Watch {
    /// Totals of each signal's changes older than `recent`, by `sketch.name`.
    pub before: Vec<(String, Totals)>,
    /// The recent changes, oldest first.
    pub recent: Vec<Change>,
    /// The summary, when the run is already over.
    pub ended: Option<Event>,
    /// Every later event, in order.
    pub live: broadcast::Receiver<Event>,
    /// Nanoseconds since recording started, now.
    pub now: u64,
    /// The other hosts whose changes are merged, if any.
    pub hosts: Arc<[HostView]>,
}

/// The recorder: every change with its time, for a VCD file and for watchers.
pub struct Trace {
    /// Time zero of the recording.
    start: Instant,
    /// Time zero on the wall clock, nanoseconds since the Unix epoch: what
    /// the changes this recording streams to another host are timed by
    /// (`net::serve::signals`), and what that host's changes are placed by.
    wall: u64,
    /// Everything below changes together, under one short lock (never held across an await).
    state: Mutex<State>,
    /// The live feed; sent to while the lock is held, so a new watcher misses nothing.
    live: broadcast::Sender<Event>,
    /// Whether changes are kept, not only counted; read without the lock,
    /// so that what only a recording needs costs nothing without one.
    keeping: AtomicBool,
    /// Who is told of every value of some signals as it is recorded (a
    /// scenario's expectations), once set.
    tap: OnceLock<Tap>,
}

/// What is told, as it is recorded, of every value of signal `sketch.name`
/// among those a [`Trace::tap`] names.
pub(crate) type Tapped = Box<dyn Fn(&str, &'static str, &Value) + Send + Sync>;

/// The signals a tap follows, and who is told of their values.
struct Tap {
    /// Full names, `sketch.name`.
    signals: Vec<String>,
    /// Told of each value.
    told: Tapped,
}

/// The recorder's data.
#[derive(Default)]
struct State {
    /// Timestamp of the last change.
    last_at: Option<u64>,
    /// Every change, when a VCD file will be written: of a signal, only
    /// those to a new value (a wire set to what it holds already changes
    /// nothing); of an event lane, every one.
    all: Option<Vec<Change>>,
    /// The value each signal last had in `all`, to leave repeats out.
    kept_last: BySignal<Option<Value>>,
    /// Signals declared before any change (a link's lane), for the VCD file,
    /// which declares them even if they never change; `at` is 0.
    declared: Vec<Change>,
    /// Whether the "cut short" warning was given.
    truncated: bool,
    /// The most recent changes, for late watchers.
    recent: VecDeque<Change>,
    /// Totals of changes that fell out of `recent`, by signal.
    before: Counts,
    /// The end of the run, once known.
    ended: Option<Event>,
    /// Whether changes are kept (for a page or a VCD file), or only counted
    /// (for a summary), which costs one short lock per change.
    counting_only: bool,
    /// The other hosts whose changes are merged.
    hosts: Option<Arc<[HostView]>>,
}

impl Trace {
    /// Starts this process's recording (or returns the one already started).
    /// `keep_all` keeps every change for a VCD file ([`Trace::kept`]).
    pub fn install(keep_all: bool) -> Arc<Trace> {
        let trace = TRACE.get_or_init(|| Arc::new(Trace::new()));
        let mut state = trace.lock();
        state.counting_only = false;
        trace.keeping.store(true, Ordering::Relaxed);
        if keep_all {
            state.all.get_or_insert_with(Vec::new);
        }
        drop(state);
        Arc::clone(trace)
    }

    /// Starts counting every signal's changes for a summary ([`Trace::totals`]),
    /// keeping none of them, unless a recording that keeps them was started.
    pub fn install_counting() -> Arc<Trace> {
        Arc::clone(TRACE.get_or_init(|| Arc::new(Trace::counting())))
    }

    /// From now on, keeps every change for a VCD file ([`Trace::kept`]).
    #[cfg(test)]
    pub fn keep_all(&self) {
        let mut state = self.lock();
        state.counting_only = false;
        self.keeping.store(true, Ordering::Relaxed);
        state.all.get_or_insert_with(Vec::new);
    }

    /// This process's recorder, once a command has started one.
    pub fn installed() -> Option<&'static Arc<Trace>> {
        TRACE.get()
    }

    /// A recorder of its own, not the process's (for tests).
    pub fn new() -> Trace {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
            });
        Trace {
            start: Instant::now(),
            wall,
            state: Mutex::new(State::default()),
            live: broadcast::channel(LIVE_BACKLOG).0,
            keeping: AtomicBool::new(true),
            tap: OnceLock::new(),
        }
    }

    /// A recorder of its own that only counts changes.
    fn counting() -> Trace {
        let trace = Trace::new();
        trace.lock().counting_only = true;
        trace.keeping.store(false, Ordering::Relaxed);
        trace
    }

    /// Whether changes are kept (for a page or a VCD file), not only counted.
    pub fn keeps_changes(&self) -> bool {
        self.keeping.load(Ordering::Relaxed)
    }

    /// The state; a panic elsewhere while it was held leaves it usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Nanoseconds since recording started.
    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Nanoseconds since the Unix epoch, now, by this recording's clock:
    /// its start on the wall clock, plus the time since (so that a wall
    /// clock stepped during the run does not step the recording).
    pub fn wall_now(&self) -> u64 {
        self.wall.saturating_add(self.now())
    }

    /// Time `at` of this recording on the wall clock (see [`Trace::wall_now`]).
    pub fn wall_at(&self, at: u64) -> u64 {
        self.wall.saturating_add(at)
    }

    /// The time of this recording that the wall-clock time `wall` is
    /// (nanoseconds since the Unix epoch); 0 for one before it started.
    pub fn at_wall(&self, wall: i128) -> u64 {
        u64::try_from(wall - i128::from(self.wall)).unwrap_or(0)
    }

    /// Places a change that happened elsewhere, at `at` of this recording
    /// (which may be earlier than changes recorded already): kept, counted
    /// and shown as a change recorded here would be; an event lane's
    /// (`event`) kept every time. A VCD file has its changes in time order
    /// whatever order they were placed in ([`Trace::kept`]).
    pub fn place(&self, sketch: Arc<str>, name: &'static str, value: Value, at: u64, event: bool) {
        let lane = if event { Lane::Events } else { Lane::Signal };
        let mut state = self.lock();
        if state.counting_only {
            state.before.of(&sketch, name).add(&value);
            return;
        }
        let change = Change {
            at,
            sketch,
            name,
            value,
        };
        self.keep(&mut state, change, lane);
    }

    /// Says what is known of the other hosts whose changes are merged.
    pub fn hosts(&self, hosts: Vec<HostView>) {
        let hosts: Arc<[HostView]> = hosts.into();
        let mut state = self.lock();
        state.hosts = Some(Arc::clone(&hosts));
        let _ = self.live.send(Event::Hosts(hosts));
    }

    /// Records one value of signal `sketch.name` (given the sketch's shared
    /// name, as its log scope holds it, nothing is allocated). A VCD file
    /// keeps it only when it differs from the signal's value before; watchers
    /// and counts see every one.
    pub fn record(&self, sketch: impl Into<Arc<str>>, name: &'static str, value: Value) {
        self.note(sketch.into(), name, value, Lane::Signal);
    }

    /// Records one event of lane `sketch.name`, such as a message received
    /// (`sketch.in`): kept every time, even when it repeats the one before,
    /// since each stands for something that happened.
    pub fn record_event(&self, sketch: impl Into<Arc<str>>, name: &'static str, value: Value) {
        self.note(sketch.into(), name, value, Lane::Events);
    }

    /// From now on, tells `told` of every value of the `signals` (full
    /// names, `sketch.name`) as it is recorded, before the recorder's lock
    /// is taken; the first tap of a process stays (a scenario runs alone in
    /// its process). Another signal costs one comparison per tapped name.
    ///
    /// # Errors
    /// When this recorder has a tap already.
    pub(crate) fn tap(&self, signals: Vec<String>, told: Tapped) -> Result<(), &'static str> {
        self.tap
            .set(Tap { signals, told })
            .map_err(|_| "this recorder is tapped already")
    }

    /// Records a value of a signal or an event lane.
    fn note(&self, sketch: Arc<str>, name: &'static str, value: Value, lane: Lane) {
        if let Some(tap) = self.tap.get() {
            if tap
                .signals
                .iter()
                .any(|signal| names(signal, &sketch, name))
            {
                (tap.told)(&sketch, name, &value);
            }
        }
        let mut state = self.lock();
        if state.counting_only {
            // A count needs no time: the clock is read only for a change kept.
            state.before.of(&sketch, name).add(&value);
            return;
        }
        let now = self.now();
        // Strictly increasing, so that two changes never share a time (the
        // first may be at zero: under `--sim`, tick k is at k × delay exactly).
        let at = state.last_at.map_or(now, |last| now.max(last + 1));
        state.last_at = Some(at);
        let change = Change {
            at,
            sketch,
            name,
            value,
        };
        self.keep(&mut state, change, lane);
    }

    /// Keeps `change` for a VCD file (when one will be written), the
    /// history and the live feed.
    fn keep(&self, state: &mut State, change: Change, lane: Lane) {
        if state.all.is_some() && state.changes_kept_value(&change, lane) {
            let full = state
                .all
                .as_ref()
                .is_some_and(|all| all.len() >= KEEP_AT_MOST);
            if full && !state.truncated {
                state.truncated = true;
                tracing::warn!("over {KEEP_AT_MOST} signal changes: the VCD file stops here");
            } else if let Some(all) = state.all.as_mut().filter(|_| !full) {
                all.push(change.clone());
            }
        }
        if state.recent.len() == HISTORY {
            if let Some(old) = state.recent.pop_front() {
                state.before.of(&old.sketch, old.name).add(&old.value);
            }
        }
        state.recent.push_back(change.clone());
        // No watcher is fine: the history keeps the change for later ones.
        let _ = self.live.send(Event::Change(change));
    }

    /// Declares signal `sketch.name`, of the kind of `like`, without a
    /// change: a VCD file kept for this run lists it even if it never changes.
    pub fn declare(&self, sketch: impl Into<Arc<str>>, name: &'static str, like: Value) {
        let sketch = sketch.into();
        let mut state = self.lock();
        let known = |change: &Change| *change.sketch == *sketch && change.name == name;
        if state.all.is_none() || state.declared.iter().any(known) {
            return;
        }
        state.declared.push(Change {
            at: 0,
            sketch,
            name,
            value: like,
        });
    }

    /// The signals declared so far (see [`Trace::declare`]), in order.
    pub fn declared(&self) -> Vec<Change> {
        self.lock().declared.clone()
    }

    /// Marks the end of the run, with its summary line.
    pub fn end(&self, summary: &str) {
        let at = self.now();
        let mut state = self.lock();
        let event = Event::End {
            at,
            summary: summary.into(),
        };
        state.ended = Some(event.clone());
        let _ = self.live.send(event);
    }

    /// The recent past and the live feed, with nothing lost or repeated between them.
    pub fn watch(&self) -> Watch {
        let state = self.lock();
        let mut before: Vec<(String, Totals)> = state
            .before
            .0
            .iter()
            .map(|((sketch, name), totals)| (format!("{sketch}.{name}"), totals.clone()))
            .collect();
        before.sort_by(|a, b| a.0.cmp(&b.0));
        Watch {
            before,
            recent: state.recent.iter().cloned().collect(),
            ended: state.ended.clone(),
            live: self.live.subscribe(),
            now: self.now(),
            hosts: state.hosts.clone().unwrap_or_else(|| Arc::from(Vec::new())),
        }
    }

    /// Totals of every change of signal `sketch.name` so far, kept or not.
    pub fn totals(&self, signal: &str) -> Totals {
        let state = self.lock();
        let mut totals = state
            .before
            .0
            .iter()
            .find(|((sketch, name), _)| names(signal, sketch, name))
            .map(|(_, totals)| totals.clone())
            .unwrap_or_default();
        for change in &state.recent {
            if names(signal, &change.sketch, change.name) {
                totals.add(&change.value);
            }
        }
        totals
    }

    /// Every change kept for a VCD file, oldest first (none unless asked
    /// for); changes placed from elsewhere ([`Trace::place`]) among them.
    pub fn kept(&self) -> Vec<Change> {
        let mut kept = self.lock().all.clone().unwrap_or_default();
        // Stable, and nearly sorted already: what was recorded here keeps its order.
        kept.sort_by_key(|change| change.at);
        kept
    }
}

/// What a recorded value stands for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// The value a signal holds until the next: a repeat changes nothing.
    Signal,
    /// Something that happened (a message received): each one counts.
    Events,
}

impl State {
    /// Whether a VCD file keeps `change`: every event, and a signal's value
    /// when it differs from the one kept before (the first one always).
    fn changes_kept_value(&mut self, change: &Change, lane: Lane) -> bool {
        if lane == Lane::Events {
            return true;
        }
        let last = self.kept_last.of(&change.sketch, change.name);
        if last.as_ref() == Some(&change.value) {
            return false;
        }
        *last = Some(change.value.clone());
        true
    }
}

/// Totals by signal.
type Counts = BySignal<Totals>;

/// Something kept for each signal. A circuit has a handful of signals, so a
/// short list searched by the names' addresses first beats hashing two
/// strings per change.
struct BySignal<T>(Vec<((Arc<str>, &'static str), T)>);

impl<T> Default for BySignal<T> {
    fn default() -> Self {
        BySignal(Vec::new())
    }
}

impl<T: Default> BySignal<T> {
    /// What is kept for `sketch.name`, new if nothing is yet.
    fn of(&mut self, sketch: &Arc<str>, name: &'static str) -> &mut T {
        let same = |(s, n): &(Arc<str>, &str)| Arc::ptr_eq(s, sketch) && std::ptr::eq(*n, name);
        let found = match self.0.iter().position(|(key, _)| same(key)) {
            Some(at) => Some(at),
            // The same names may live at two addresses (two crates' literals).
            None => self
                .0
                .iter()
                .position(|((s, n), _)| s == sketch && *n == name),
        };
        let at = found.unwrap_or_else(|| {
            self.0.push(((Arc::clone(sketch), name), T::default()));
            self.0.len() - 1
        });
        &mut self.0[at].1
    }
}

/// Whether `signal` is `sketch.name`.
fn names(signal: &str, sketch: &str, name: &str) -> bool {
    signal
        .strip_prefix(sketch)
        .and_then(|rest| rest.strip_prefix('.'))
        == Some(name)
}

impl Default for Trace {
    fn default() -> Self {
        Trace::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_count_samples_rises_and_edges_from_a_low_start() {
        let mut totals = Totals::default();
        for bit in [false, true, true, false, true] {
            totals.add(&Value::Bit(bit));
        }
        assert_eq!((totals.samples, totals.rises, totals.edges), (5, 2, 3));
        assert_eq!(totals.last, Some(Value::Bit(true)));
    }

    #[test]
    fn timestamps_strictly_increase_and_history_is_bounded() {
        let trace = Trace::new();
        for n in 0..(HISTORY as u64 + 10) {
            trace.record("clock", "tick", Value::Unsigned(n));
        }
        let watch = trace.watch();
        assert_eq!(watch.recent.len(), HISTORY);
        assert_eq!(watch.recent[0].value, Value::Unsigned(10));
        assert!(watch.recent.windows(2).all(|w| w[0].at < w[1].at));
        assert_eq!(watch.before.len(), 1);
        assert_eq!(watch.before[0].0, "clock.tick");
        assert_eq!(watch.before[0].1.samples, 10);
    }

    #[test]
    fn totals_add_up_what_fell_out_of_the_history_and_what_is_still_in_it() {
        for trace in [Trace::new(), Trace::counting()] {
            for n in 0..(HISTORY as u64 + 10) {
                trace.record("iopin", "level", Value::Bit(n % 2 == 1));
            }
            trace.record("buzzer", "buzz", Value::Bit(true));
            let level = trace.totals("iopin.level");
            assert_eq!(level.samples, HISTORY as u64 + 10);
            assert_eq!(level.rises, (HISTORY as u64 + 10) / 2);
            assert_eq!(trace.totals("buzzer.buzz").rises, 1);
            assert_eq!(trace.totals("iopin.lev").samples, 0);
            assert_eq!(trace.totals("buzzer").samples, 0);
        }
        let counting = Trace::counting();
        counting.record("clock", "tick", Value::Unsigned(1));
        assert!(
            counting.watch().recent.is_empty(),
            "counting keeps no change"
        );
    }

    #[test]
    fn a_recording_keeps_a_signals_changes_and_every_event() {
        let trace = Trace::new();
        trace.keep_all();
        // A month of a wire that flipped 4 times, read once a minute.
        for minute in 0..43_200u64 {
            let spinning = matches!(minute, 10_000..20_000 | 30_000..40_000);
            trace.record("fan", "spinning", Value::Bit(spinning));
            trace.record_event("fan", "in", Value::Text("/ 1".into()));
        }
        let kept = trace.kept();
        let spinning: Vec<&Value> = kept
            .iter()
            .filter(|change| change.name == "spinning")
            .map(|change| &change.value)
            .collect();
        let (on, off) = (Value::Bit(true), Value::Bit(false));
        assert_eq!(spinning, [&off, &on, &off, &on, &off]);
        let events = kept.iter().filter(|change| change.name == "in").count();
        assert_eq!(events, 43_200, "one event per message, repeats and all");
        // Watchers and counts still see every value.
        assert_eq!(trace.totals("fan.spinning").samples, 43_200);
        assert_eq!(trace.totals("fan.spinning").rises, 2);
    }

    #[test]
    fn a_watcher_gets_the_past_then_the_live_feed_without_gaps() {
        let trace = Trace::new();
        trace.record("iopin", "level", Value::Bit(true));
        let mut watch = trace.watch();
        trace.record("iopin", "level", Value::Bit(false));
        trace.end("done");
        assert_eq!(watch.recent.len(), 1);
        assert!(
            matches!(watch.live.try_recv(), Ok(Event::Change(c)) if c.value == Value::Bit(false))
        );
        assert!(matches!(watch.live.try_recv(), Ok(Event::End { .. })));
    }
}
