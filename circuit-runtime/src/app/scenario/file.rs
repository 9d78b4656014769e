//! Scenario files: a circuit (its own file, or its `[sketches.*]` inline),
//! what to send it and what to expect, in simulated seconds. Read and
//! checked as a whole before anything runs, by the circuit file's own
//! checker for the circuit: every mistake at once, each at FILE:LINE:COLUMN.
//!
//! ```toml
//! circuit = "../circuits/demo.toml"  # relative to this file; or [sketches.*] here
//! seed = 7                           # default 0: a scenario is the same every run
//! timeout = 120.0                    # simulated seconds (default 60): the run's end
//!
//! [[send]]                           # messages into a server, as a peer sends them
//! at = 1.0
//! to = "buzzer/pin"                  # a sketch of the circuit, and a path (default /)
//! messages = ["0", "1"]
//! every = 0.5                        # seconds between them (default 0)
//!
//! [[expect]]                         # signal (rises, falls, changes or value), ack, log or regex
//! signal = "buzzer.buzz"
//! rises = 2                          # at least 2 in the window
//! by = 5.0                           # or within = [A, B], or at = T; default: by the timeout
//!
//! [[never]]                          # the same kinds: fails if it happens in its window
//! log = "error"
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::app::circuit::check::did_you_mean;
use crate::app::circuit::commands::{on_simulated_time, stays_inside};
use crate::app::circuit::file::{read as read_circuit, read_beside, render};
use crate::app::circuit::plan::Plan;
use crate::app::circuit::toml_file::{a, at, table, Diagnostic, Table, Value};
use crate::app::kind::Kind;
use crate::base::error::Error;

/// The keys of a scenario beside its circuit's.
const KEYS: [&str; 6] = ["circuit", "seed", "timeout", "send", "expect", "never"];

/// How long a scenario runs without a `timeout`, in simulated seconds.
const TIMEOUT: f64 = 60.0;

/// A checked scenario, ready to run.
pub(crate) struct Scenario {
    /// Its name: the file's stem.
    pub(crate) name: String,
    /// Its file, as given.
    pub(crate) path: PathBuf,
    /// The file's text, to place what fails.
    pub(crate) text: String,
    /// The circuit it runs.
    pub(crate) circuit: Plan,
    /// The seed of every sketch that draws random numbers.
    pub(crate) seed: u64,
    /// When the run ends, from its start.
    pub(crate) timeout: Duration,
    /// What it sends, in the order of the file.
    pub(crate) sends: Vec<Send>,
    /// What it expects (`[[expect]]`) and forbids (`[[never]]`), in the order of the file.
    pub(crate) checks: Vec<Check>,
}

impl Scenario {
    /// `FILE:LINE:COLUMN` of byte `span` of the file.
    pub(crate) fn place(&self, span: &Range<usize>) -> String {
        let shown = render(&self.path, &self.text, &[], &[at(span.clone(), "")]);
        shown.trim_end_matches(": ").to_owned()
    }
}

/// One `[[send]]`: messages to one path of a server of the circuit.
#[derive(Clone, Debug)]
pub(crate) struct Send {
    /// Where it is written.
    pub(crate) span: Range<usize>,
    /// The sketch it goes to.
    pub(crate) sketch: String,
    /// The path, `/pin`.
    pub(crate) path: String,
    /// When the first goes.
    pub(crate) at: Duration,
    /// The time between two.
    pub(crate) every: Duration,
    /// The messages, in order.
    pub(crate) messages: Vec<String>,
}

/// One `[[expect]]` or `[[never]]`.
#[derive(Clone, Debug)]
pub(crate) struct Check {
    /// Where it is written.
    pub(crate) span: Range<usize>,
    /// `[[never]]`: fails when it happens (else when it does not).
    pub(crate) never: bool,
    /// What is to happen.
    pub(crate) what: What,
    /// When.
    pub(crate) window: Window,
}

/// What a check waits for.
#[derive(Clone, Debug)]
pub(crate) enum What {
    /// Signal `sketch.name` does this.
    Signal {
        /// Its full name.
        signal: String,
        /// What it does.
        does: Does,
    },
    /// An acknowledgement of a message sent, equal to `text`, from sketch `from` (if given).
    Ack {
        /// The acknowledgement's text.
        text: String,
        /// The sketch whose acknowledgement counts; any when `None`.
        from: Option<String>,
    },
    /// A line logged.
    Log(Pattern),
}

/// What a signal does.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Does {
    /// Rises (low to high) at least this many times.
    Rises(u64),
    /// Falls (high to low) at least this many times.
    Falls(u64),
    /// Changes value at least this many times.
    Changes(u64),
    /// Holds this value at some time (its text: `1`, `true`, `22.5`, `on`).
    Value(String),
}

/// What a log line must hold.
#[derive(Clone, Debug)]
pub(crate) enum Pattern {
    /// This text, anywhere in it.
    Substring(String),
    /// A match of this regular expression.
    #[cfg(feature = "sim")]
    Regex(regex::Regex),
}

impl Pattern {
    /// Whether `line` holds it.
    pub(crate) fn matches(&self, line: &str) -> bool {
        match self {
            Pattern::Substring(text) => line.contains(text.as_str()),
            #[cfg(feature = "sim")]
            Pattern::Regex(regex) => regex.is_match(line),
        }
    }

    /// The pattern as written.
    pub(crate) fn text(&self) -> &str {
        match self {
            Pattern::Substring(text) => text,
            #[cfg(feature = "sim")]
            Pattern::Regex(regex) => regex.as_str(),
        }
    }
}

/// When a check looks: from `from` to `until`, both included.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Window {
    /// Its start.
    pub(crate) from: Duration,
    /// Its end.
    pub(crate) until: Duration,
    /// How it was written.
    pub(crate) written: Written,
}

/// How a window was written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Written {
    /// `by = T` (or nothing: by the timeout).
    By,
    /// `within = [A, B]`.
    Within,
    /// `at = T`.
    At,
}

impl Window {
    /// "by 5.000s", "within 1.000s–2.000s", "at 3.000s".
    pub(crate) fn describe(&self) -> String {
        match self.written {
            Written::By => format!("by {}", seconds(self.until)),
            Written::Within => format!("within {}–{}", seconds(self.from), seconds(self.until)),
            Written::At => format!("at {}", seconds(self.from)),
        }
    }
}

/// A simulated time as the results show it: `5.000s`.
pub(crate) fn seconds(time: Duration) -> String {
    format!("{:.3}s", time.as_secs_f64())
}

/// Reads and checks scenario file `path` against the program's `kinds`,
/// for a run on simulated time unless `realtime`.
///
/// # Errors
/// [`Error::Circuit`] with every mistake, one `FILE:LINE:COLUMN: …` line
/// each (those of a circuit file it names at that file's places).
pub(crate) fn read(path: &Path, kinds: &[Kind], realtime: bool) -> Result<Scenario, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Error::Circuit(format!("cannot read {}: {err}", path.display())))?;
    let mut errors = Vec::new();
    let mut elsewhere = Vec::new();
    let parsed = parse(path, &text, kinds, &mut errors, &mut elsewhere);
    let mut shown: Vec<String> = elsewhere;
    if let (Some(scenario), true) = (&parsed, errors.is_empty()) {
        // What the run itself would refuse, refused before anything runs.
        let circuit = &scenario.circuit;
        let refused = if realtime {
            stays_inside(circuit, kinds, false, false)
        } else {
            on_simulated_time(circuit, true, false, false)
                .and_then(|()| stays_inside(circuit, kinds, true, false))
        };
        if let Err(err) = refused {
            shown.push(format!("{}: {err}", path.display()));
        }
    }
    errors.sort_by_key(|error| error.span.start);
    if !errors.is_empty() {
        shown.insert(0, render(path, &text, &[], &errors));
    }
    match parsed {
        Some(scenario) if shown.is_empty() => Ok(scenario),
        _ => Err(Error::Circuit(shown.join("\n"))),
    }
}

/// The scenario `text` of `path` says; its mistakes go to `errors`, those
/// of a circuit file it names to `elsewhere`, rendered.
fn parse(
    path: &Path,
    text: &str,
    kinds: &[Kind],
    errors: &mut Vec<Diagnostic>,
    elsewhere: &mut Vec<String>,
) -> Option<Scenario> {
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(err) => {
            errors.push(at(err.span().unwrap_or(0..0), err.message().trim()));
            return None;
        }
    };
    let root = root.get_ref();
    let find = |key: &str| {
        root.iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(_, v)| v)
    };
    let number = |key: &str, errors: &mut Vec<Diagnostic>| {
        find(key).and_then(|value| time(value, &format!("`{key}`"), errors))
    };
    let timeout_secs = number("timeout", errors).unwrap_or(TIMEOUT);
    let timeout = Duration::from_secs_f64(timeout_secs);
    let seed = match find("seed") {
        None => 0,
        Some(value) => match value.get_ref() {
            DeValue::Integer(number) => number.as_str().parse().unwrap_or_else(|_| {
                errors.push(at(value.span(), "`seed` is a whole number ≥ 0"));
                0
            }),
            other => {
                errors.push(at(
                    value.span(),
                    format!("`seed` is a whole number ≥ 0, not {}", a(other)),
                ));
                0
            }
        },
    };
    let inline = root.iter().any(|(key, _)| key.get_ref() == "sketches");
    let circuit = match find("circuit") {
        Some(value) => match value.get_ref() {
            DeValue::String(_) if inline => {
                errors.push(at(
                    value.span(),
                    "a scenario names its circuit file or holds its [sketches.*] tables, not both",
                ));
                None
            }
            DeValue::String(file) => {
                let file = path.parent().unwrap_or(Path::new("")).join(&**file);
                match std::fs::read_to_string(&file) {
                    Ok(circuit) => match read_circuit(&file, &circuit, &[], kinds) {
                        Ok(plan) => Some(plan),
                        Err(mistakes) => {
                            elsewhere.push(render(&file, &circuit, &[], &mistakes));
                            None
                        }
                    },
                    Err(err) => {
                        errors.push(at(
                            value.span(),
                            format!("cannot read the circuit file {}: {err}", file.display()),
                        ));
                        None
                    }
                }
            }
            other => {
                errors.push(at(
                    value.span(),
                    format!("`circuit` takes a string, the circuit file's path (relative to this file), not {}", a(other)),
                ));
                None
            }
        },
        None if inline => match read_beside(path, text, &[], kinds, &KEYS) {
            Ok(plan) => Some(plan),
            Err(mistakes) => {
                errors.extend(mistakes);
                None
            }
        },
        None => {
            errors.push(at(
                0..0,
                "a scenario needs a circuit: `circuit = \"FILE.toml\"` (relative to the scenario), or its [sketches.NAME] tables here",
            ));
            None
        }
    };
    if inline || find("circuit").is_some() {
        // Keys of neither a scenario nor (with `circuit = "…"`) a circuit.
        for (key, _) in root {
            let name = key.get_ref();
            if find("circuit").is_some() && !KEYS.contains(&&**name) {
                let near = did_you_mean(name, &KEYS, '`');
                errors.push(at(
                    key.span(),
                    format!(
                        "unknown field `{name}` of a scenario that names its circuit file{near}; its fields are `{}`",
                        KEYS.join("`, `")
                    ),
                ));
            }
        }
    }
    let shape = Shape {
        circuit: circuit.as_ref(),
        kinds,
        timeout,
    };
    let mut sends = Vec::new();
    for entry in tables(find("send"), "send", errors) {
        if let Some(send) = shape.send(&entry, errors) {
            sends.push(send);
        }
    }
    let mut checks = Vec::new();
    for (key, never) in [("expect", false), ("never", true)] {
        for entry in tables(find(key), key, errors) {
            if let Some(check) = shape.check(&entry, never, errors) {
                checks.push(check);
            }
        }
    }
    checks.sort_by_key(|check| check.span.start);
    let name = path.file_stem().map_or_else(
        || path.display().to_string(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    Some(Scenario {
        name,
        path: path.to_owned(),
        text: text.to_owned(),
        circuit: circuit?,
        seed,
        timeout,
        sends,
        checks,
    })
}

/// One `[[KEY]]` entry: where it starts, and its keys and values.
struct Entry {
    /// Its place (its first key, or the table).
    span: Range<usize>,
    /// Its keys and values.
    table: Table,
}

impl Entry {
    /// Its value of `key`, with its place.
    fn get(&self, key: &str) -> Option<&Spanned<Value>> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(_, value)| value)
    }
}

/// The entries of `[[key]]`, each a table.
fn tables(
    value: Option<&Spanned<DeValue<'_>>>,
    key: &str,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Entry> {
    let Some(value) = value else {
        return Vec::new();
    };
    let why = format!("`{key}` is a list of tables, written [[{key}]]");
    let DeValue::Array(items) = value.get_ref() else {
        errors.push(at(
            value.span(),
            format!("{why}, not {}", a(value.get_ref())),
        ));
        return Vec::new();
    };
    items
        .iter()
        .map(|item| {
            let table = table(item, &why, errors);
            // A [[table]]'s own span is its header's; its first key is near enough otherwise.
            let span = if item.span().is_empty() {
                table
                    .keys()
                    .map(Spanned::span)
                    .min_by_key(|s| s.start)
                    .unwrap_or(0..0)
            } else {
                item.span()
            };
            Entry { span, table }
        })
        .collect()
}

/// A time in seconds ≥ 0 (`value`, named `what`), or why it is not one.
fn time(value: &Spanned<DeValue<'_>>, what: &str, errors: &mut Vec<Diagnostic>) -> Option<f64> {
    let number = match value.get_ref() {
        DeValue::Integer(number) => number.as_str().parse::<f64>().ok(),
        DeValue::Float(number) => number.as_str().parse::<f64>().ok(),
        _ => None,
    };
    match number {
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 => Some(seconds),
        _ => {
            errors.push(at(
                value.span(),
                format!(
                    "{what} is a time in simulated seconds ≥ 0, such as 1.5, not {}",
                    shown(value.get_ref())
                ),
            ));
            None
        }
    }
}

/// A value as the mistakes name it.
fn shown(value: &DeValue<'_>) -> String {
    match value {
        DeValue::Integer(number) => number.as_str().to_owned(),
        DeValue::Float(number) => number.as_str().to_owned(),
        DeValue::String(text) => format!("{text:?}"),
        other => a(other).to_owned(),
    }
}

/// A converted value's time in seconds ≥ 0, or why it is not one.
fn seconds_of(value: &Spanned<Value>, what: &str, errors: &mut Vec<Diagnostic>) -> Option<f64> {
    let parsed = match value.get_ref() {
        Value::Number(text) => text.parse::<f64>().ok(),
        _ => None,
    };
    match parsed {
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 => Some(seconds),
        _ => {
            let written = match value.get_ref() {
                Value::Number(text) => text.clone(),
                Value::String(text) => format!("{text:?}"),
                _ => "that".to_owned(),
            };
            errors.push(at(
                value.span(),
                format!("{what} is a time in simulated seconds ≥ 0, such as 1.5, not {written}"),
            ));
            None
        }
    }
}

/// What the entries are checked against: the circuit (when it has no
/// mistakes), the program's kinds, and the timeout.
struct Shape<'a> {
    /// The circuit, if it could be read.
    circuit: Option<&'a Plan>,
    /// The program's kinds.
    kinds: &'a [Kind],
    /// The scenario's end.
    timeout: Duration,
}

impl Shape<'_> {
    /// A `[[send]]`, or its mistakes.
    fn send(&self, entry: &Entry, errors: &mut Vec<Diagnostic>) -> Option<Send> {
        let before = errors.len();
        self.unknown_keys(entry, &["at", "to", "messages", "every"], "send", errors);
        let at_time = match entry.get("at") {
            Some(value) => self.within_timeout(value, "`at`", errors),
            None => Some(Duration::ZERO),
        };
        let every = match entry.get("every") {
            Some(value) => seconds_of(value, "`every`", errors).map(Duration::from_secs_f64),
            None => Some(Duration::ZERO),
        };
        let target = match entry.get("to") {
            Some(value) => self.target(value, errors),
            None => {
                errors.push(at(
                    entry.span.clone(),
                    "a [[send]] needs `to = \"SKETCH/PATH\"`, a server of the circuit",
                ));
                None
            }
        };
        let messages = match entry.get("messages") {
            Some(value) => match value.get_ref() {
                Value::Array(items) => {
                    let texts: Option<Vec<String>> = items.iter().map(message).collect();
                    if texts.is_none() {
                        errors.push(at(
                            value.span(),
                            "`messages` is a list of messages, strings or numbers: [\"1\", \"0\"]",
                        ));
                    }
                    texts
                }
                _ => {
                    errors.push(at(
                        value.span(),
                        "`messages` is a list of messages, strings or numbers: [\"1\", \"0\"]",
                    ));
                    None
                }
            },
            None => {
                errors.push(at(
                    entry.span.clone(),
                    "a [[send]] needs `messages = [\"…\"]`",
                ));
                None
            }
        };
        if errors.len() > before {
            return None;
        }
        let (sketch, path) = target?;
        Some(Send {
            span: entry.span.clone(),
            sketch,
            path,
            at: at_time?,
            every: every?,
            messages: messages?,
        })
    }

    /// A `[[expect]]` or `[[never]]`, or its mistakes.
    fn check(&self, entry: &Entry, never: bool, errors: &mut Vec<Diagnostic>) -> Option<Check> {
        let section = if never { "never" } else { "expect" };
        let before = errors.len();
        self.unknown_keys(
            entry,
            &[
                "signal", "rises", "falls", "changes", "value", "ack", "from", "log", "regex",
                "by", "within", "at",
            ],
            section,
            errors,
        );
        let kinds: Vec<&str> = ["signal", "ack", "log", "regex"]
            .into_iter()
            .filter(|key| entry.get(key).is_some())
            .collect();
        let what = match kinds.as_slice() {
            ["signal"] => self.signal(entry, never, errors),
            [key] if *key == "log" || *key == "regex" => self.log(entry, key, errors),
            [_] => self.ack(entry, errors),
            [] => {
                errors.push(at(
                    entry.span.clone(),
                    format!("a [[{section}]] needs one of `signal = \"SKETCH.NAME\"`, `ack = \"…\"`, `log = \"…\"` or `regex = \"…\"`"),
                ));
                None
            }
            [_, second, ..] => {
                let place = entry.get(second).map_or(entry.span.clone(), Spanned::span);
                errors.push(at(
                    place,
                    format!("a [[{section}]] is about one thing: `{}` or `{second}`, in two [[{section}]] tables", kinds[0]),
                ));
                None
            }
        };
        let window = self.window(entry, errors);
        if errors.len() > before {
            return None;
        }
        Some(Check {
            span: entry.span.clone(),
            never,
            what: what?,
            window: window?,
        })
    }

    /// Each key of `entry` not among `known`, a mistake.
    fn unknown_keys(
        &self,
        entry: &Entry,
        known: &[&str],
        section: &str,
        errors: &mut Vec<Diagnostic>,
    ) {
        for key in entry.table.keys() {
            if !known.contains(&key.get_ref().as_str()) {
                let near = did_you_mean(key.get_ref(), known, '`');
                errors.push(at(
                    key.span(),
                    format!("unknown key `{}` of a [[{section}]]{near}", key.get_ref()),
                ));
            }
        }
    }

    /// A time no later than the timeout, or why not.
    fn within_timeout(
        &self,
        value: &Spanned<Value>,
        what: &str,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<Duration> {
        let seconds = seconds_of(value, what, errors)?;
        let time = Duration::from_secs_f64(seconds);
        if time > self.timeout {
            errors.push(at(
                value.span(),
                format!(
                    "{what} = {seconds} is after the scenario's end (timeout = {}): raise `timeout`",
                    self.timeout.as_secs_f64()
                ),
            ));
            return None;
        }
        Some(time)
    }

    /// The window of a check: `by`, `within` or `at` (one of them), by the timeout without.
    fn window(&self, entry: &Entry, errors: &mut Vec<Diagnostic>) -> Option<Window> {
        let given: Vec<&str> = ["by", "within", "at"]
            .into_iter()
            .filter(|key| entry.get(key).is_some())
            .collect();
        if let [first, second, ..] = given.as_slice() {
            let place = entry.get(second).map_or(entry.span.clone(), Spanned::span);
            errors.push(at(place, format!("give one of `{first}` and `{second}`")));
            return None;
        }
        match given.first().copied() {
            None => Some(Window {
                from: Duration::ZERO,
                until: self.timeout,
                written: Written::By,
            }),
            Some("by") => {
                let until = self.within_timeout(entry.get("by")?, "`by`", errors)?;
                Some(Window {
                    from: Duration::ZERO,
                    until,
                    written: Written::By,
                })
            }
            Some("at") => {
                let time = self.within_timeout(entry.get("at")?, "`at`", errors)?;
                Some(Window {
                    from: time,
                    until: time,
                    written: Written::At,
                })
            }
            _ => {
                let value = entry.get("within")?;
                let bad = || {
                    at(
                        value.span(),
                        "`within` is [FROM, UNTIL], two times in simulated seconds, FROM ≤ UNTIL",
                    )
                };
                let Value::Array(items) = value.get_ref() else {
                    errors.push(bad());
                    return None;
                };
                let times: Vec<f64> = items
                    .iter()
                    .filter_map(|item| match item {
                        Value::Number(text) => text
                            .parse::<f64>()
                            .ok()
                            .filter(|s| s.is_finite() && *s >= 0.0),
                        _ => None,
                    })
                    .collect();
                match times.as_slice() {
                    [from, until] if from <= until && items.len() == 2 => {
                        let until_time = Duration::from_secs_f64(*until);
                        if until_time > self.timeout {
                            errors.push(at(
                                value.span(),
                                format!("`within` ends at {until}, after the scenario's end (timeout = {}): raise `timeout`", self.timeout.as_secs_f64()),
                            ));
                            return None;
                        }
                        Some(Window {
                            from: Duration::from_secs_f64(*from),
                            until: until_time,
                            written: Written::Within,
                        })
                    }
                    _ => {
                        errors.push(bad());
                        None
                    }
                }
            }
        }
    }

    /// `signal = "SKETCH.NAME"` with what it does.
    fn signal(&self, entry: &Entry, never: bool, errors: &mut Vec<Diagnostic>) -> Option<What> {
        let value = entry.get("signal")?;
        let Value::String(signal) = value.get_ref() else {
            errors.push(at(value.span(), "`signal` takes a string, \"SKETCH.NAME\""));
            return None;
        };
        let sketch_known = match signal.split_once('.') {
            Some((sketch, name)) if !sketch.is_empty() && !name.is_empty() => {
                self.known_sketch(sketch, value.span(), errors)
            }
            _ => {
                errors.push(at(
                    value.span(),
                    format!(
                        "{signal:?} is no signal: write \"SKETCH.NAME\", such as \"buzzer.buzz\""
                    ),
                ));
                false
            }
        };
        let does: Vec<&str> = ["rises", "falls", "changes", "value"]
            .into_iter()
            .filter(|key| entry.get(key).is_some())
            .collect();
        let does = match does.as_slice() {
            [] if never => Some(Does::Changes(1)),
            [] => {
                errors.push(at(
                    value.span(),
                    "say what the signal does: `rises = N`, `falls = N`, `changes = N` or `value = V`",
                ));
                None
            }
            ["value"] => {
                let given = entry.get("value")?;
                match given.get_ref() {
                    Value::String(text) | Value::Number(text) => Some(Does::Value(text.clone())),
                    Value::Boolean(on) => Some(Does::Value(on.to_string())),
                    _ => {
                        errors.push(at(
                            given.span(),
                            "`value` is a number, `true`/`false` or a string",
                        ));
                        None
                    }
                }
            }
            [key] => {
                let given = entry.get(key)?;
                let count = match given.get_ref() {
                    Value::Number(text) => text.parse::<u64>().ok().filter(|n| *n > 0),
                    _ => None,
                };
                match count {
                    Some(n) => Some(match *key {
                        "rises" => Does::Rises(n),
                        "falls" => Does::Falls(n),
                        _ => Does::Changes(n),
                    }),
                    None => {
                        errors.push(at(
                            given.span(),
                            format!("`{key}` is a count ≥ 1: how many times, at least"),
                        ));
                        None
                    }
                }
            }
            [first, second, ..] => {
                let place = entry.get(second).map_or(entry.span.clone(), Spanned::span);
                errors.push(at(
                    place,
                    format!("give one of `{first}` and `{second}`: one signal check per table"),
                ));
                None
            }
        };
        if !sketch_known {
            return None;
        }
        Some(What::Signal {
            signal: signal.clone(),
            does: does?,
        })
    }

    /// `ack = "TEXT"`, from the sketch `from` if given.
    fn ack(&self, entry: &Entry, errors: &mut Vec<Diagnostic>) -> Option<What> {
        let value = entry.get("ack")?;
        let text = match value.get_ref() {
            Value::String(text) | Value::Number(text) => text.clone(),
            _ => {
                errors.push(at(
                    value.span(),
                    "`ack` takes a string, the acknowledgement's text",
                ));
                return None;
            }
        };
        let from = match entry.get("from") {
            None => None,
            Some(from) => match from.get_ref() {
                Value::String(sketch) => {
                    if !self.known_sketch(sketch, from.span(), errors) {
                        return None;
                    }
                    Some(sketch.clone())
                }
                _ => {
                    errors.push(at(
                        from.span(),
                        "`from` takes a string, the sketch a [[send]] went to",
                    ));
                    return None;
                }
            },
        };
        Some(What::Ack { text, from })
    }

    /// `log = "TEXT"` or `regex = "…"`.
    fn log(&self, entry: &Entry, key: &str, errors: &mut Vec<Diagnostic>) -> Option<What> {
        let value = entry.get(key)?;
        let Value::String(text) = value.get_ref() else {
            errors.push(at(value.span(), format!("`{key}` takes a string")));
            return None;
        };
        if key == "log" {
            return Some(What::Log(Pattern::Substring(text.clone())));
        }
        #[cfg(feature = "sim")]
        {
            match regex::Regex::new(text) {
                Ok(regex) => Some(What::Log(Pattern::Regex(regex))),
                Err(err) => {
                    let why = err.to_string();
                    let why = why.lines().last().unwrap_or_default().trim().to_owned();
                    errors.push(at(
                        value.span(),
                        format!("{text:?} is no regular expression: {why}"),
                    ));
                    None
                }
            }
        }
        #[cfg(not(feature = "sim"))]
        {
            errors.push(at(
                value.span(),
                crate::base::features::missing(crate::base::features::Feature::Sim, "`regex`"),
            ));
            None
        }
    }

    /// `to = "SKETCH/PATH"`: a server of the circuit, and a path.
    fn target(
        &self,
        value: &Spanned<Value>,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<(String, String)> {
        let Value::String(to) = value.get_ref() else {
            errors.push(at(value.span(), "`to` takes a string, \"SKETCH/PATH\""));
            return None;
        };
        let (sketch, path) = match to.find('/') {
            Some(slash) => (&to[..slash], to[slash..].to_owned()),
            None => (to.as_str(), "/".to_owned()),
        };
        if !self.known_sketch(sketch, value.span(), errors) {
            return None;
        }
        let circuit = self.circuit?;
        let planned = circuit.sketches.iter().find(|s| s.name == sketch)?;
        let kind = &self.kinds[planned.kind];
        if !kind.serves || planned.command.is_some() {
            errors.push(at(
                value.span(),
                format!(
                    "\"{sketch}\" is {}: a [[send]] goes to a server of this program's kinds, as a peer would",
                    if planned.command.is_some() { "a program outside (a command sketch)" } else { "a timer, which serves nobody" }
                ),
            ));
            return None;
        }
        Some((sketch.to_owned(), path))
    }

    /// Whether `sketch` is one of the circuit's (a mistake at `span` if
    /// not); unknown when the circuit could not be read (its own mistakes say why).
    fn known_sketch(&self, sketch: &str, span: Range<usize>, errors: &mut Vec<Diagnostic>) -> bool {
        let Some(circuit) = self.circuit else {
            return false;
        };
        let names: Vec<&str> = circuit.sketches.iter().map(|s| s.name.as_str()).collect();
        if names.contains(&sketch) {
            return true;
        }
        errors.push(at(
            span,
            format!(
                "no sketch \"{sketch}\" in the circuit {}{}",
                circuit.name,
                did_you_mean(sketch, &names, '"')
            ),
        ));
        false
    }
}

/// A message as sent: a string as written, a number as its text.
fn message(value: &Value) -> Option<String> {
    match value {
        Value::String(text) | Value::Number(text) => Some(text.clone()),
        Value::Boolean(on) => Some(on.to_string()),
        _ => None,
    }
}
