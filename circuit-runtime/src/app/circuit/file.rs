//! Circuit files: a TOML file that names the sketches of a circuit, their
//! kinds, settings and wiring. Read and checked as a whole before anything
//! starts: every mistake is reported at once, each with where it is.
//!
//! ```toml
//! name = "demo"              # optional; default: the file's stem
//! mqtt = "mqtt://broker.lan" # optional: publish the signals, as --mqtt (which overrides it)
//! home-assistant = true      # optional, with mqtt: Home Assistant's configs, as --home-assistant
//!
//! [sketches.clock]           # the key is the sketch's name in this circuit
//! kind = "clock"             # a sketch kind of this program; default: the key
//! to = "iopin"               # a timer's target: a sketch of this circuit, or a ws:// URL
//! tacks = 20                 # any setting of the kind, by its long flag name
//! retry-for = 2              # or any option of the framework that its command line has
//!
//! [sketches.iopin]
//! buzzer = "buzzer"          # a link names a sketch of this circuit (or a URL)
//!
//! [sketches.buzzer]
//!
//! [summary]                  # optional: what the summary line counts, from signals
//! "bits drawn" = "iopin.level"          # every change of a signal
//! buzzes = { rises = "buzzer.buzz" }    # or its low-to-high transitions
//! ```

//!
//! What only a file has is read here: kinds and links by name, a timer's
//! `to`, `host`, values given with `--set` in the file's place, and the
//! place of every key for the diagnostics (its TOML, keys and values with
//! their places, is `toml_file`'s).
//! The rules every circuit obeys are the check's (`check`).

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use toml::Spanned;

use crate::app::circuit::check::{check, did_you_mean, no_sketch, At, Source};
use crate::app::circuit::command_sketch::written::{self, InFile};
use crate::app::circuit::options;
use crate::app::circuit::plan::{Draft, DraftSketch, Given, Plan, Target, Written};
use crate::app::circuit::set::Set;
use crate::app::circuit::toml_file::{self, at, Diagnostic, File, Table, Value};
use crate::app::flags::run::Published;
use crate::app::kind::Kind;
use crate::base::settings::Setting;
use crate::base::wiring::MessageType;
use crate::net::find::address::{Address, NAME_PREFIX};
use crate::net::mqtt::url::{MqttUrl, TopicUse};
use crate::observe::analyzer::{Counting, Tally};

/// Where a setting was written: its key and its value, in the file or by a `--set`.
#[derive(Clone)]
struct SettingPlace {
    /// Its key.
    key: Range<usize>,
    /// Its value.
    value: Range<usize>,
    /// The `--set` that gave it instead of the file, by its place among them.
    set: Option<usize>,
}

/// Where each part of a draft was written, to place the check's mistakes.
#[derive(Default)]
struct Places {
    /// Each sketch's key, and where each of its settings was written.
    sketches: Vec<(Range<usize>, Vec<SettingPlace>)>,
    /// Each count's value.
    counts: Vec<Range<usize>>,
}

impl Places {
    /// Mistake `message` found by the check, placed at what it is about.
    fn of(&self, at: At, message: String) -> Diagnostic {
        let setting = |sketch: usize, setting: usize| &self.sketches[sketch].1[setting];
        let (span, set) = match at {
            At::Circuit => (0..0, None),
            At::Sketch(sketch) => (self.sketches[sketch].0.clone(), None),
            At::Setting(sketch, at) => {
                let place = setting(sketch, at);
                (place.key.clone(), place.set)
            }
            At::Value(sketch, at) => {
                let place = setting(sketch, at);
                (place.value.clone(), place.set)
            }
            At::Count(count) => (self.counts[count].clone(), None),
        };
        Diagnostic { span, set, message }
    }
}

/// What the sketches of the file are, for the links and timers that name them.
struct Named<'a> {
    /// Every sketch's name, in the order of the file.
    names: Vec<&'a str>,
    /// The kind of each sketch of a known kind.
    kinds: HashMap<&'a str, &'a Kind>,
    /// What each command sketch takes (`None`: any message), which its kind
    /// cannot say: every command sketch has the same.
    takes: HashMap<&'a str, Option<MessageType>>,
}

/// Reads and checks `text`, the contents of circuit file `path`, with the
/// values `sets` give in its place, against the program's `kinds`.
///
/// # Errors
/// Every mistake found, in the order of the file, then of the `--set`s.
pub(crate) fn read(
    path: &Path,
    text: &str,
    sets: &[Set],
    kinds: &[Kind],
) -> Result<Plan, Vec<Diagnostic>> {
    read_beside(path, text, sets, kinds, &[])
}

/// As [`read`], for a file that holds a circuit beside keys of its own
/// (`others`: a scenario's), which are left to its reader.
///
/// # Errors
/// As [`read`].
pub(crate) fn read_beside(
    path: &Path,
    text: &str,
    sets: &[Set],
    kinds: &[Kind],
    others: &[&str],
) -> Result<Plan, Vec<Diagnostic>> {
    let file = toml_file::parse(text, others)?;
    let mut errors = Vec::new();
    let (draft, places) = draft(path, &file, sets, kinds, &mut errors);
    let mistakes = match check(draft, kinds, Source::File) {
        Ok(plan) if errors.is_empty() => return Ok(plan),
        Ok(_) => Vec::new(),
        Err(mistakes) => mistakes,
    };
    errors.extend(
        mistakes
            .into_iter()
            .map(|mistake| places.of(mistake.at, mistake.message)),
    );
    errors.sort_by_key(|error| (error.set, error.span.start));
    Err(errors)
}

/// The circuit the file describes, as written, with where each part is;
/// what only a file can get wrong goes to `errors`.
fn draft(
    path: &Path,
    file: &File,
    sets: &[Set],
    kinds: &[Kind],
    errors: &mut Vec<Diagnostic>,
) -> (Draft, Places) {
    let name = match &file.name {
        Some(name) => name.get_ref().clone(),
        None => path.file_stem().map_or_else(
            || "circuit".to_owned(),
            |stem| stem.to_string_lossy().into_owned(),
        ),
    };
    let mut entries: Vec<_> = file.sketches.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    // Pass one: every sketch's kind (a command sketch's, read whole, is the
    // program it runs), so that links can be checked against it.
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut commands: HashMap<&str, InFile> = HashMap::new();
    let mut found: Vec<Option<usize>> = Vec::new();
    for (key, table) in &entries {
        let kind = match written::in_file(table, dir, kinds, errors) {
            Some(command) => {
                let kind = command.kind;
                commands.insert(key.get_ref().as_str(), command);
                kind
            }
            None if written::is_command(table) => None,
            None => kind_of(key, table, kinds, errors),
        };
        found.push(kind);
    }
    let names: Vec<&str> = entries
        .iter()
        .map(|(key, _)| key.get_ref().as_str())
        .collect();
    let named = Named {
        kinds: names
            .iter()
            .zip(&found)
            .filter_map(|(name, kind)| kind.map(|kind| (*name, &kinds[kind])))
            .collect(),
        takes: commands
            .iter()
            .map(|(name, command)| (*name, command.sketch.takes))
            .collect(),
        names,
    };
    let mut places = Places::default();
    let mut sketches = Vec::new();
    for ((key, table), kind) in entries.iter().zip(found) {
        if kind.is_some() {
            check_name(key, errors);
        }
        let name = key.get_ref().as_str();
        let (sketch, settings) = match (kind, commands.get(name)) {
            (Some(kind), Some(command)) => {
                let listens = |sketch: &str| named.kinds.get(sketch).copied();
                written::check_named(command, &named.names, listens, errors);
                let mut sketch = bare(name, Some(kind));
                sketch.command = Some(Arc::clone(&command.sketch));
                sketch.host = command.host.clone();
                (sketch, Vec::new())
            }
            (Some(kind), None) => sketch(key, table, kind, &kinds[kind], &named, errors),
            // Of an unknown kind, reported already: kept for its name alone.
            (None, _) => (bare(name, None), Vec::new()),
        };
        sketches.push(sketch);
        places.sketches.push((key.span(), settings));
    }
    for (index, set) in sets.iter().enumerate() {
        let before = errors.len();
        let given = (sketches.as_mut_slice(), &mut places);
        apply(set, index, given, kinds, &named, errors);
        for error in &mut errors[before..] {
            error.set = Some(index);
        }
    }
    let (counts, spans) = summary(&file.summary, errors);
    places.counts = spans;
    let draft = Draft {
        name,
        about: file.about.clone(),
        sketches,
        counts,
        published: published(file, errors),
    };
    (draft, places)
}

/// `mqtt = "…"` and `home-assistant = true`, the URL checked as `--mqtt`'s.
fn published(file: &File, errors: &mut Vec<Diagnostic>) -> Option<Published> {
    let home_assistant = file.home_assistant.as_ref();
    let Some(url) = &file.mqtt else {
        if let Some(on) = home_assistant.filter(|on| *on.get_ref()) {
            errors.push(at(
                on.span(),
                "`home-assistant = true` publishes to the broker of `mqtt = \"mqtt://HOST[:PORT]\"`, and the file names none",
            ));
        }
        return None;
    };
    match MqttUrl::parse(url.get_ref(), TopicUse::Prefix) {
        Ok(parsed) => Some(Published {
            url: parsed,
            home_assistant: home_assistant.is_some_and(|on| *on.get_ref()),
        }),
        Err(why) => {
            errors.push(at(url.span(), format!("`mqtt`: {why}")));
            None
        }
    }
}

/// Gives the value of `set` (the `index`-th) in the file's place: read as if
/// the file wrote it in the sketch's table, replacing what the file wrote.
/// What is wrong with it goes to `errors`, placed by the caller at the `--set`.
fn apply(
    set: &Set,
    index: usize,
    (sketches, places): (&mut [DraftSketch], &mut Places),
    kinds: &[Kind],
    named: &Named<'_>,
    errors: &mut Vec<Diagnostic>,
) {
    let Some(at) = named.names.iter().position(|name| *name == set.sketch) else {
        errors.push(self::at(
            0..0,
            format!(
                "{}; its sketches are {}",
                no_sketch(&set.sketch, &named.names),
                named.names.join(", ")
            ),
        ));
        return;
    };
    let Some(index_of_kind) = sketches[at].kind else {
        return; // of an unknown kind, reported already
    };
    let kind = &kinds[index_of_kind];
    if kind.is_command() {
        errors.push(self::at(
            0..0,
            format!(
                "`{}` is a command sketch: its keys are the file's to say; --set gives values to the settings of a kind's sketch",
                set.sketch
            ),
        ));
        return;
    }
    if set.key == "kind" {
        errors.push(self::at(
            0..0,
            "a sketch's kind is the file's to say; --set gives a value to one of its settings",
        ));
        return;
    }
    let (switch, repeats) = match (kind.setting(&set.key), options::option(kind, &set.key)) {
        (Some(setting), _) => (setting.switch, setting.repeats),
        (None, Some(option)) => (options::is_switch(&option), options::repeats(&option)),
        (None, None) => (false, false),
    };
    let nowhere = || Spanned::new(0..0, set.key.clone());
    let table: Table = [(nowhere(), Spanned::new(0..0, set.written(switch, repeats)))].into();
    let key = Spanned::new(0..0, set.sketch.clone());
    let (given, written) = sketch(&key, &table, index_of_kind, kind, named, errors);
    let (sketch, settings) = (&mut sketches[at], &mut places.sketches[at].1);
    if given.to.is_some() {
        sketch.to = given.to;
    }
    if given.host.is_some() {
        sketch.host = given.host;
    }
    for (setting, mut place) in given.settings.into_iter().zip(written) {
        if let Some(had) = sketch
            .settings
            .iter()
            .position(|had| had.long == setting.long)
        {
            sketch.settings.remove(had);
            settings.remove(had);
        }
        place.set = Some(index);
        sketch.settings.push(setting);
        settings.push(place);
    }
}

/// A sketch called `name` with nothing written for it yet.
fn bare(name: &str, kind: Option<usize>) -> DraftSketch {
    DraftSketch {
        name: name.to_owned(),
        kind,
        to: None,
        settings: Vec::new(),
        host: None,
        command: None,
    }
}

/// Sketch `key` of kind `kind` (at `index`) as its table writes it, with
/// the places of its settings' keys and values.
fn sketch(
    key: &Spanned<String>,
    table: &Table,
    index: usize,
    kind: &Kind,
    named: &Named<'_>,
    errors: &mut Vec<Diagnostic>,
) -> (DraftSketch, Vec<SettingPlace>) {
    let mut sketch = bare(key.get_ref(), Some(index));
    let mut places = Vec::new();
    for (setting, value) in table {
        let span = value.span();
        match setting.get_ref().as_str() {
            "kind" => {}
            "host" => match value.get_ref() {
                Value::String(host) => sketch.host = Some(host.clone()),
                _ => errors.push(at(span, "`host` is a host's name, such as \"h2\"")),
            },
            // A server may have a setting of its own called `to` (a link, say).
            "to" if kind.setting("to").is_none() || !kind.serves => {
                if kind.serves {
                    errors.push(at(
                        setting.span(),
                        format!(
                            "`to` is where a timer sends, and `{}` is not a timer; remove it, or link with one of its settings",
                            kind.name
                        ),
                    ));
                    continue;
                }
                sketch.to = Some(to(key.get_ref(), value, kind, named, errors));
            }
            long => {
                let shape = match (kind.setting(long), options::option(kind, long)) {
                    (Some(found), _) => Some(Shape::of_setting(found)),
                    (None, Some(option)) => Some(Shape::of_option(long, &option)),
                    // The check says what its settings are.
                    (None, None) => None,
                };
                // A value refused here is reported here; the key is kept
                // without it, so that the check counts the setting as written.
                let values = shape
                    .and_then(|shape| given(&shape, value, named, key.get_ref(), errors))
                    .unwrap_or_default();
                sketch.settings.push(Written {
                    long: long.to_owned(),
                    values,
                });
                places.push(SettingPlace {
                    key: setting.span(),
                    value: span,
                    set: None,
                });
            }
        }
    }
    (sketch, places)
}

/// A timer's `to`: a sketch of the circuit, or a URL. One written wrong is
/// reported here and kept as written, so that the timer still has a target
/// (a draft with mistakes never runs).
fn to(
    owner: &str,
    value: &Spanned<Value>,
    kind: &Kind,
    named: &Named<'_>,
    errors: &mut Vec<Diagnostic>,
) -> Given {
    let span = value.span();
    let Value::String(to) = value.get_ref() else {
        errors.push(at(
            span,
            "`to` names a sketch of this circuit, or a ws:// URL, as a string",
        ));
        return Given::Text(String::new());
    };
    let sends = Sends {
        what: format!("`{owner}` ({}) sends", kind.name),
        sends: kind.sends.unwrap_or(MessageType::ANY_TEXT),
        fix: "point `to` at a sketch that takes it",
    };
    match target(to, span.clone(), named, &sends, errors) {
        Some(Given::Sketch(Target {
            path: Some(path), ..
        })) => {
            errors.push(at(
                span,
                format!("a timer sends to its own channel, not to {path}; name the sketch alone"),
            ));
            Given::Text(to.clone())
        }
        Some(target) => target,
        None => Given::Text(to.clone()),
    }
}

/// The counts of `[summary]`, each a signal (checked by the check) with the
/// place of its value.
fn summary(table: &Table, errors: &mut Vec<Diagnostic>) -> (Vec<Tally>, Vec<Range<usize>>) {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(label, _)| label.span().start);
    let mut counts = (Vec::new(), Vec::new());
    for (label, value) in entries {
        let written = match value.get_ref() {
            Value::String(signal) => Some((signal, Counting::Samples)),
            Value::Table(table) if table.len() == 1 => match table.iter().next() {
                Some((how, Value::String(signal))) if how == "rises" => {
                    Some((signal, Counting::Rises))
                }
                Some((how, Value::String(signal))) if how == "samples" => {
                    Some((signal, Counting::Samples))
                }
                _ => None,
            },
            _ => None,
        };
        let Some((signal, counting)) = written else {
            errors.push(at(
                value.span(),
                "a count is a signal, \"sketch.name\" (its changes), or { rises = \"sketch.name\" }",
            ));
            continue;
        };
        counts.0.push(Tally {
            label: label.get_ref().clone(),
            signal: signal.clone(),
            count: counting,
        });
        counts.1.push(value.span());
    }
    counts
}

/// The kind of sketch `key`: `kind = "…"`, or its name.
fn kind_of(
    key: &Spanned<String>,
    table: &Table,
    kinds: &[Kind],
    errors: &mut Vec<Diagnostic>,
) -> Option<usize> {
    let (kind, span) = match table
        .iter()
        .find(|(setting, _)| setting.get_ref() == "kind")
    {
        Some((_, value)) => match value.get_ref() {
            Value::String(kind) => (kind.as_str(), value.span()),
            _ => {
                errors.push(at(value.span(), "`kind` names a sketch kind, as a string"));
                return None;
            }
        },
        None => (key.get_ref().as_str(), key.span()),
    };
    let found = kinds
        .iter()
        .position(|known| known.name == kind && !known.is_command());
    if found.is_none() {
        let names: Vec<&str> = kinds
            .iter()
            .filter(|known| !known.is_command())
            .map(|known| known.name)
            .collect();
        let hint = if table.iter().any(|(setting, _)| setting.get_ref() == "kind") {
            String::new()
        } else {
            format!(" (the sketch `{kind}` takes its kind from its name; write `kind = \"…\"`)")
        };
        errors.push(at(
            span,
            format!(
                "unknown kind \"{kind}\"{}; this program's kinds are {}{hint}",
                did_you_mean(kind, &names, '"'),
                names.join(", ")
            ),
        ));
    }
    found
}

/// A sketch's name becomes part of its log lines: letters, digits, `-` and `_`.
fn check_name(key: &Spanned<String>, errors: &mut Vec<Diagnostic>) {
    let name = key.get_ref();
    let fine = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !fine {
        errors.push(at(
            key.span(),
            format!("a sketch's name may hold letters, digits, `-` and `_`, not {name:?}"),
        ));
    }
}

/// What a key of a sketch's table takes: a setting of its own, or an option
/// of the framework (`ping-interval`), which is text for its flag's parser.
struct Shape<'a> {
    /// Its name.
    long: &'a str,
    /// A switch: `true` or `false`.
    switch: bool,
    /// It takes a list.
    repeats: bool,
    /// A link, sending this type: it may name a sketch of the circuit.
    link: Option<MessageType>,
}

impl<'a> Shape<'a> {
    /// The shape of a sketch's own setting.
    fn of_setting(setting: &'static Setting) -> Shape<'static> {
        Shape {
            long: setting.long,
            switch: setting.switch,
            repeats: setting.repeats,
            link: setting.link,
        }
    }

    /// The shape of the framework's option `long`, flag `option`.
    fn of_option(long: &'a str, option: &clap::Arg) -> Shape<'a> {
        Shape {
            long,
            switch: options::is_switch(option),
            repeats: options::repeats(option),
            link: None,
        }
    }
}

/// The values `value` gives to `setting`, as text for its parser (which the
/// check runs) or as sketches of the circuit for a link.
fn given(
    setting: &Shape<'_>,
    value: &Spanned<Value>,
    named: &Named<'_>,
    owner: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<Vec<Given>> {
    let span = value.span();
    if setting.switch {
        return match value.get_ref() {
            Value::Boolean(on) => Some(if *on {
                vec![Given::Text("true".to_owned())]
            } else {
                Vec::new()
            }),
            _ => {
                errors.push(at(
                    span,
                    format!("`{}` is a switch: write `true` or `false`", setting.long),
                ));
                None
            }
        };
    }
    let items: Vec<&Value> = match value.get_ref() {
        Value::Array(items) if setting.repeats => items.iter().collect(),
        Value::Array(_) => {
            errors.push(at(
                span,
                format!("`{}` takes one value, not a list", setting.long),
            ));
            return None;
        }
        one => vec![one],
    };
    let mut values = Vec::new();
    for item in items {
        let text = match item {
            Value::String(text) | Value::Number(text) => text.clone(),
            Value::Boolean(flag) => flag.to_string(),
            _ => {
                errors.push(at(
                    span.clone(),
                    format!("`{}` takes a string or a number here", setting.long),
                ));
                return None;
            }
        };
        let Some(sent) = setting.link else {
            values.push(Given::Text(text));
            continue;
        };
        let sends = Sends {
            what: format!("this link (`{owner}`'s `{}`) sends", setting.long),
            sends: sent,
            fix: "link it to a sketch that takes it, or declare the link as the type the sketch takes",
        };
        values.push(target(&text, span.clone(), named, &sends, errors)?);
    }
    Some(values)
}

/// What a link or a timer sends, and how to say a mismatch.
struct Sends {
    /// "this link (`iopin`'s `buzzer`) sends".
    what: String,
    /// The type.
    sends: MessageType,
    /// What to do about a sketch that does not take it.
    fix: &'static str,
}

/// A link's or a timer's target: a `ws://` URL (checked as a link would
/// check it), or `name` / `name/path` naming a server sketch of the circuit.
fn target(
    text: &str,
    span: Range<usize>,
    named: &Named<'_>,
    sends: &Sends,
    errors: &mut Vec<Diagnostic>,
) -> Option<Given> {
    // A URL, or a sketch found by DNS-SD outside the file: written out, so
    // that a bare name is always a sketch of this file (and a typo an error).
    if text.contains("://") || text.starts_with(NAME_PREFIX) {
        return match Address::parse(text) {
            Ok(_) => Some(Given::Text(text.to_owned())),
            Err(why) => {
                errors.push(at(span, why));
                None
            }
        };
    }
    let (sketch, path) = match text.split_once('/') {
        Some((sketch, path)) => (sketch, Some(format!("/{path}"))),
        None => (text, None),
    };
    if !named.names.contains(&sketch) {
        errors.push(at(
            span,
            format!(
                "{}; its sketches are {} (a sketch outside the circuit, found by DNS-SD, is written \"{NAME_PREFIX}{sketch}\")",
                no_sketch(sketch, &named.names),
                named.names.join(", ")
            ),
        ));
        return None;
    }
    let Some(kind) = named.kinds.get(sketch) else {
        return None; // of an unknown kind, reported already
    };
    let takes = match named.takes.get(sketch) {
        // A command sketch that takes any message takes what is sent.
        Some(None) if kind.serves => Some(sends.sends),
        Some(Some(takes)) if kind.serves => Some(*takes),
        _ => kind.takes.filter(|_| kind.serves),
    };
    let Some(takes) = takes else {
        errors.push(at(
            span,
            format!(
                "\"{sketch}\" is a timer ({}): nothing can connect to it",
                kind.name
            ),
        ));
        return None;
    };
    if !takes.takes(sends.sends) {
        errors.push(at(
            span,
            format!(
                "\"{sketch}\" ({}) takes {takes}, and {} {}; {}",
                kind.name, sends.what, sends.sends, sends.fix
            ),
        ));
        return None;
    }
    Some(Given::Sketch(Target {
        sketch: sketch.to_owned(),
        path,
    }))
}

/// `FILE:LINE:COLUMN: message`, one line per diagnostic, lines and columns
/// from 1; `--set SKETCH.KEY=VALUE: message` for one about a `--set` of `sets`.
pub(crate) fn render(path: &Path, text: &str, sets: &[Set], diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|diagnostic| {
            if let Some(set) = diagnostic.set.and_then(|index| sets.get(index)) {
                return format!("--set {set}: {}", diagnostic.message);
            }
            let start = diagnostic.span.start.min(text.len());
            let before = &text[..start];
            let line = before.matches('\n').count() + 1;
            let column = before
                .rsplit('\n')
                .next()
                .map_or(0, |tail| tail.chars().count())
                + 1;
            format!("{}:{line}:{column}: {}", path.display(), diagnostic.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::kind::made;

    /// The plan of `text` with `sets`, of the pin and the buzzer made by
    /// hand, or its mistakes as `up` shows them.
    fn plan(text: &str, sets: &[&str]) -> Result<Plan, String> {
        let sets: Vec<Set> = sets.iter().map(|set| Set::parse(set).unwrap()).collect();
        let path = Path::new("c.toml");
        read(path, text, &sets, &made::pin_and_buzzer())
            .map_err(|mistakes| render(path, text, &sets, &mistakes))
    }

    #[test]
    fn a_framework_option_is_a_key_of_a_sketchs_table_and_a_set_replaces_a_value() {
        let text = "[sketches.pin]\nbuzzer = \"buzzer\"\nping-interval = 1\n\n[sketches.buzzer]\nmax-clients = 2\n";
        let planned = plan(text, &[]).unwrap();
        assert_eq!(planned.sketches[0].options, ["--ping-interval=1"]);
        assert_eq!(planned.sketches[1].options, ["--max-clients=2"]);
        let set = plan(text, &["pin.ping-interval=0.5", "pin.sequence=4"]).unwrap();
        assert_eq!(set.sketches[0].options, ["--ping-interval=0.5"]);
        let sequence = set.sketches[0]
            .given
            .iter()
            .find(|(setting, _)| setting.long == "sequence");
        assert_eq!(
            sequence.map(|(_, values)| values.clone()),
            Some(vec![Given::Text("4".to_owned())])
        );
    }

    #[test]
    fn a_set_is_checked_as_the_file_is_and_its_mistakes_name_it() {
        let text = "[sketches.pin]\nbuzzer = \"buzzer\"\nsequenze = 1\n[sketches.buzzer]\n";
        let sets = [
            "pin.sequence=many",
            "pinn.sequence=1",
            "pin.ping-interval=soon",
            "pin.buzzer=buzer",
        ];
        let said = plan(text, &sets).unwrap_err();
        let lines: Vec<&str> = said.lines().collect();
        assert!(
            lines[0].starts_with(
                "c.toml:3:1: unknown setting `sequenze` of pin (did you mean `sequence`?)"
            ),
            "{said}"
        );
        assert_eq!(
            lines[1],
            "--set pin.sequence=many: `sequence` cannot be \"many\": invalid digit found in string"
        );
        assert!(
            lines[2].starts_with(
                "--set pinn.sequence=1: no sketch \"pinn\" in this circuit (did you mean \"pin\"?)"
            ),
            "{said}"
        );
        assert_eq!(
            lines[3],
            "--set pin.ping-interval=soon: `ping-interval` cannot be \"soon\": invalid float literal"
        );
        assert!(
            lines[4].starts_with("--set pin.buzzer=buzer: no sketch \"buzer\""),
            "{said}"
        );
        assert_eq!(lines.len(), 5, "{said}");
    }

    #[test]
    fn a_link_left_to_its_default_outside_the_circuit_is_a_mistake() {
        let unset = "[sketches.pin]\n\n[sketches.buzzer]\n";
        assert_eq!(
            plan(unset, &[]).unwrap_err(),
            "c.toml:1:11: the link `buzzer` is not set, and its default, ws://localhost:8766/pin, is outside this circuit: set it to a sketch of the circuit (`buzzer = \"buzzer\"`), or to that URL on purpose (`buzzer = \"ws://localhost:8766/pin\"`)"
        );
        assert!(plan(unset, &["pin.buzzer=buzzer"]).is_ok());
        let on_purpose = "[sketches.pin]\nbuzzer = \"ws://localhost:8766/pin\"\n";
        assert!(plan(on_purpose, &[]).is_ok());
    }

    #[test]
    fn places_are_lines_and_columns_from_one() {
        let text = "name = \"x\"\n\n[sketches.iopin]\nchanse = 1\n";
        let at_chanse = text.find("chanse").unwrap();
        let shown = render(
            Path::new("c.toml"),
            text,
            &[],
            &[at(0..4, "first"), at(at_chanse..at_chanse + 6, "second")],
        );
        assert_eq!(shown, "c.toml:1:1: first\nc.toml:4:1: second");
    }
}
