//! Signals over time: what sketches record with [`signal`], kept for a VCD
//! file and streamed live to the analyzer page.
//!
//! Recording is off until a command asks for it (`--vcd`, `--web`); until
//! then [`signal`] is one atomic load and returns, so a sketch may record on
//! every message without paying for it.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use tokio::sync::broadcast;

use crate::log;
use crate::{Error, Result};

/// Changes kept for a VCD file; beyond this the file is cut short (with a warning),
/// so that a long run cannot eat the machine's memory.
const KEEP_AT_MOST: usize = 2_000_000;

/// Changes kept for pages that open late: they get these, plus totals of older ones.
const HISTORY: usize = 20_000;

/// Changes a page may fall behind before it is dropped (it reconnects and rebuilds).
const LIVE_BACKLOG: usize = 4_096;

/// The recorder of this process, once a command has started one.
static TRACE: OnceLock<Arc<Trace>> = OnceLock::new();

/// Records a change of signal `name` of the sketch that runs this code.
///
/// `value` is a bit (`bool`), a number (`u64`, `u32`, `usize`) or text (`&str`).
/// Nothing is allocated or formatted unless a recording was asked for
/// (`--vcd FILE`, or `--web ADDR` on `circuit`).
pub fn signal<'a>(name: &'static str, value: impl Into<Value<'a>>) {
    if let Some(trace) = TRACE.get() {
        trace.record(log::current(), name, value.into());
    }
}

/// One value of a signal, as a sketch hands it over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// A one-bit wire: low or high.
    Bit(bool),
    /// A number, drawn as a bus.
    Number(u64),
    /// Text, drawn as a bus with the text in it.
    Text(&'a str),
}

impl From<bool> for Value<'_> {
    fn from(bit: bool) -> Self {
        Value::Bit(bit)
    }
}

impl From<u64> for Value<'_> {
    fn from(number: u64) -> Self {
        Value::Number(number)
    }
}

impl From<u32> for Value<'_> {
    fn from(number: u32) -> Self {
        Value::Number(number.into())
    }
}

impl From<usize> for Value<'_> {
    fn from(number: usize) -> Self {
        Value::Number(number as u64)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(text: &'a str) -> Self {
        Value::Text(text)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(text: &'a String) -> Self {
        Value::Text(text)
    }
}

/// A recorded value: [`Value`], owning its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Level {
    /// A one-bit wire: low or high.
    Bit(bool),
    /// A number.
    Number(u64),
    /// Text.
    Text(Arc<str>),
}

impl Level {
    /// Whether the wire is high (a bit), or the number is not zero.
    fn is_high(&self) -> bool {
        match self {
            Level::Bit(bit) => *bit,
            Level::Number(number) => *number != 0,
            Level::Text(_) => false,
        }
    }
}

impl From<Value<'_>> for Level {
    fn from(value: Value<'_>) -> Self {
        match value {
            Value::Bit(bit) => Level::Bit(bit),
            Value::Number(number) => Level::Number(number),
            Value::Text(text) => Level::Text(text.into()),
        }
    }
}

/// One recorded change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Nanoseconds since recording started; strictly increasing, so that two
    /// changes of one signal never share a timestamp.
    pub at: u64,
    /// The sketch that recorded it, such as `iopin`.
    pub sketch: &'static str,
    /// The signal's name within its sketch, such as `level`.
    pub name: &'static str,
    /// The new value.
    pub level: Level,
}

impl Change {
    /// The signal's full name, `sketch.name`.
    pub fn signal(&self) -> String {
        format!("{}.{}", self.sketch, self.name)
    }
}

/// What a live watcher receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A signal changed.
    Change(Change),
    /// The run is over; the summary line says how it went.
    End {
        /// Nanoseconds since recording started.
        at: u64,
        /// The run's summary line.
        summary: Arc<str>,
    },
}

/// Counts of one signal's changes that fell out of the history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Changes recorded, repeats included.
    pub samples: u64,
    /// Low-to-high transitions (the level before the first change is low).
    pub rises: u64,
    /// Changes whose value differs from the one before (a wire starts low; a
    /// bus's first value counts).
    pub edges: u64,
    /// The last value, if any.
    pub last: Option<Level>,
}

impl Totals {
    /// Counts one more change.
    fn add(&mut self, level: &Level) {
        let before_high = self.last.as_ref().is_some_and(Level::is_high);
        if !before_high && level.is_high() {
            self.rises += 1;
        }
        let differs = match &self.last {
            Some(last) => last != level,
            // A wire starts low; a bus starts with no value, so its first sample is an edge.
            None => !matches!(level, Level::Bit(false)),
        };
        if differs {
            self.edges += 1;
        }
        self.samples += 1;
        self.last = Some(level.clone());
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
}

/// The recorder: every change with its time, for a VCD file and for watchers.
pub struct Trace {
    /// Time zero of the recording.
    start: Instant,
    /// Everything below changes together, under one short lock (never held across an await).
    state: Mutex<State>,
    /// The live feed; sent to while the lock is held, so a new watcher misses nothing.
    live: broadcast::Sender<Event>,
}

/// The recorder's data.
#[derive(Default)]
struct State {
    /// Timestamp of the last change.
    last_at: u64,
    /// Every change, when a VCD file will be written.
    all: Option<Vec<Change>>,
    /// Whether the "cut short" warning was given.
    truncated: bool,
    /// The most recent changes, for late watchers.
    recent: VecDeque<Change>,
    /// Totals of changes that fell out of `recent`, by signal.
    before: HashMap<(&'static str, &'static str), Totals>,
    /// The end of the run, once known.
    ended: Option<Event>,
}

impl Trace {
    /// Starts this process's recording (or returns the one already started).
    /// `keep_all` keeps every change for [`Trace::write_vcd`].
    pub fn install(keep_all: bool) -> Arc<Trace> {
        let trace = TRACE.get_or_init(|| Arc::new(Trace::new()));
        if keep_all {
            trace.lock().all.get_or_insert_with(Vec::new);
        }
        Arc::clone(trace)
    }

    /// A recorder of its own, not the process's (for tests).
    pub fn new() -> Trace {
        Trace {
            start: Instant::now(),
            state: Mutex::new(State::default()),
            live: broadcast::channel(LIVE_BACKLOG).0,
        }
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

    /// Records one change of `sketch.name`.
    pub fn record(&self, sketch: &'static str, name: &'static str, value: Value<'_>) {
        let now = self.now();
        let mut state = self.lock();
        let at = now.max(state.last_at + 1);
        state.last_at = at;
        let change = Change {
            at,
            sketch,
            name,
            level: value.into(),
        };
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
        if state.recent.len() == HISTORY {
            if let Some(old) = state.recent.pop_front() {
                state
                    .before
                    .entry((old.sketch, old.name))
                    .or_default()
                    .add(&old.level);
            }
        }
        state.recent.push_back(change.clone());
        // No watcher is fine: the history keeps the change for later ones.
        let _ = self.live.send(Event::Change(change));
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
        }
    }

    /// Writes every change kept so far as a Value Change Dump (timescale 1 ns):
    /// one module per sketch; bits as 1-bit wires, numbers as 64-bit integers,
    /// text as string variables (spaces written as `_`, which VCD cannot hold).
    /// Returns how many changes were written.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write_vcd(&self, file: std::fs::File) -> io::Result<usize> {
        let changes = self.lock().all.clone().unwrap_or_default();
        let file = io::BufWriter::new(file);
        let mut vcd = vcd::Writer::new(file);
        vcd.version(concat!("circuit ", env!("CARGO_PKG_VERSION")))?;
        vcd.timescale(1, vcd::TimescaleUnit::NS)?;
        // Declare each signal once, grouped by sketch, in order of first change.
        let mut sketches: Vec<&'static str> = Vec::new();
        let mut signals: Vec<(&'static str, &'static str, &Level)> = Vec::new();
        for change in &changes {
            if !sketches.contains(&change.sketch) {
                sketches.push(change.sketch);
            }
            if !signals
                .iter()
                .any(|(sketch, name, _)| (*sketch, *name) == (change.sketch, change.name))
            {
                signals.push((change.sketch, change.name, &change.level));
            }
        }
        let mut ids = HashMap::new();
        vcd.add_module("circuit")?;
        for sketch in &sketches {
            vcd.add_module(sketch)?;
            for (_, name, first) in signals.iter().filter(|(s, _, _)| s == sketch) {
                let (kind, width) = match first {
                    Level::Bit(_) => (vcd::VarType::Wire, 1),
                    Level::Number(_) => (vcd::VarType::Integer, 64),
                    Level::Text(_) => (vcd::VarType::String, 1),
                };
                ids.insert((*sketch, *name), vcd.add_var(kind, width, name, None)?);
            }
            vcd.upscope()?;
        }
        vcd.upscope()?;
        vcd.enddefinitions()?;
        for change in &changes {
            let id = ids[&(change.sketch, change.name)];
            vcd.timestamp(change.at)?;
            match &change.level {
                Level::Bit(bit) => vcd.change_scalar(id, *bit)?,
                Level::Number(number) => vcd.change_vector(id, bits(*number))?,
                Level::Text(text) => vcd.change_string(id, &text.replace(' ', "_"))?,
            }
        }
        vcd.flush()?;
        vcd.writer().get_mut().sync_all()?;
        Ok(changes.len())
    }
}

impl Default for Trace {
    fn default() -> Self {
        Trace::new()
    }
}

/// A recording asked for on the command line: started before the run, saved after it.
pub struct Recording {
    /// The process's recorder.
    trace: Arc<Trace>,
    /// The VCD file, created at the start (so a bad path fails before the run, not after).
    vcd: Option<(PathBuf, std::fs::File)>,
}

impl Recording {
    /// Starts recording when a VCD file (`vcd`) or a live view (`live`) was asked for.
    ///
    /// # Errors
    /// [`Error::Record`] when the VCD file cannot be created.
    pub fn start(vcd: Option<PathBuf>, live: bool) -> Result<Option<Recording>> {
        if vcd.is_none() && !live {
            return Ok(None);
        }
        let vcd = match vcd {
            Some(path) => match std::fs::File::create(&path) {
                Ok(file) => Some((path, file)),
                Err(source) => {
                    return Err(Error::Record {
                        path: path.display().to_string(),
                        source,
                    })
                }
            },
            None => None,
        };
        Ok(Some(Recording {
            trace: Trace::install(vcd.is_some()),
            vcd,
        }))
    }

    /// The recorder, for a live view.
    pub fn trace(&self) -> Arc<Trace> {
        Arc::clone(&self.trace)
    }

    /// Ends the run (with its summary line, for live views) and writes the VCD file.
    ///
    /// # Errors
    /// [`Error::Record`] when the file cannot be written.
    pub fn finish(self, summary: Option<&str>) -> Result<()> {
        if let Some(summary) = summary {
            self.trace.end(summary);
        }
        if let Some((path, file)) = self.vcd {
            let written = self.trace.write_vcd(file).map_err(|source| Error::Record {
                path: path.display().to_string(),
                source,
            })?;
            tracing::info!("wrote {written} signal changes to {}", path.display());
        }
        Ok(())
    }
}

/// The 64 bits of `number`, most significant first, as VCD writes a vector.
fn bits(number: u64) -> impl Iterator<Item = vcd::Value> {
    (0..64).rev().map(move |bit| {
        if number >> bit & 1 == 1 {
            vcd::Value::V1
        } else {
            vcd::Value::V0
        }
    })
}

/// Writes `text` as a JSON string literal.
pub(crate) fn json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_count_samples_rises_and_edges_from_a_low_start() {
        let mut totals = Totals::default();
        for bit in [false, true, true, false, true] {
            totals.add(&Level::Bit(bit));
        }
        assert_eq!((totals.samples, totals.rises, totals.edges), (5, 2, 3));
        assert_eq!(totals.last, Some(Level::Bit(true)));
    }

    #[test]
    fn timestamps_strictly_increase_and_history_is_bounded() {
        let trace = Trace::new();
        for n in 0..(HISTORY as u64 + 10) {
            trace.record("clock", "tick", Value::Number(n));
        }
        let watch = trace.watch();
        assert_eq!(watch.recent.len(), HISTORY);
        assert_eq!(watch.recent[0].level, Level::Number(10));
        assert!(watch.recent.windows(2).all(|w| w[0].at < w[1].at));
        assert_eq!(watch.before.len(), 1);
        assert_eq!(watch.before[0].0, "clock.tick");
        assert_eq!(watch.before[0].1.samples, 10);
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
            matches!(watch.live.try_recv(), Ok(Event::Change(c)) if c.level == Level::Bit(false))
        );
        assert!(matches!(watch.live.try_recv(), Ok(Event::End { .. })));
    }

    #[test]
    fn a_vcd_file_reads_back_with_every_change() {
        let trace = Trace::new();
        trace.lock().all = Some(Vec::new());
        trace.record("clock", "tick", Value::Number(5));
        trace.record("clock", "ack", Value::Text("[0, 1]"));
        trace.record("iopin", "level", Value::Bit(true));
        trace.record("iopin", "level", Value::Bit(true));
        let dir = std::env::temp_dir().join(format!("circuit-vcd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("unit.vcd");
        let file = std::fs::File::create(&path).unwrap();
        assert_eq!(trace.write_vcd(file).unwrap(), 4);
        let mut parser = vcd::Parser::new(io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let header = parser.parse_header().unwrap();
        let level = header
            .find_var(&["circuit", "iopin", "level"])
            .unwrap()
            .code;
        let ack = header.find_var(&["circuit", "clock", "ack"]).unwrap().code;
        let commands: Vec<vcd::Command> = parser.map(Result::unwrap).collect();
        let levels = commands
            .iter()
            .filter(|c| matches!(c, vcd::Command::ChangeScalar(id, _) if *id == level))
            .count();
        assert_eq!(levels, 2);
        assert!(commands.iter().any(
            |c| matches!(c, vcd::Command::ChangeString(id, s) if *id == ack && s == "[0,_1]")
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut out = String::new();
        json_string(&mut out, "a \"b\"\n\\\u{1}");
        assert_eq!(out, r#""a \"b\"\n\\\u0001""#);
    }
}
