//! Circuit files: a TOML file that names the sketches of a circuit, their
//! kinds, settings and wiring. Read and checked as a whole before anything
//! starts: every mistake is reported at once, each with where it is.
//!
//! ```toml
//! name = "demo"              # optional; default: the file's stem
//!
//! [sketches.clock]           # the key is the sketch's name in this circuit
//! kind = "clock"             # a sketch kind of this program; default: the key
//! to = "iopin"               # a timer's target: a sketch of this circuit, or a ws:// URL
//! tacks = 20                 # any setting of the kind, by its long flag name
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
//! `to`, `host`, and the place of every key for the diagnostics (its TOML,
//! keys and values with their places, is `toml_file`'s).
//! The rules every circuit obeys are the check's (`check`).

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use crate::app::circuit::check::{check, did_you_mean, no_sketch, At, Source};
use crate::app::circuit::plan::{Draft, DraftSketch, Given, Plan, Target, Written};
use crate::app::circuit::toml_file::{self, at, Diagnostic, File, Table, Value};
use crate::app::kind::Kind;
use crate::base::settings::Setting;
use crate::base::wiring::MessageType;
use crate::net::find::address::{Address, NAME_PREFIX};
use crate::observe::analyzer::{Counting, Tally};

/// Where a setting was written: its key and its value.
type SettingPlace = (Range<usize>, Range<usize>);

/// Where each part of a draft was written, to place the check's mistakes.
#[derive(Default)]
struct Places {
    /// Each sketch's key, and where each of its settings was written.
    sketches: Vec<(Range<usize>, Vec<SettingPlace>)>,
    /// Each count's value.
    counts: Vec<Range<usize>>,
}

impl Places {
    /// The bytes a mistake found by the check is about.
    fn of(&self, at: At) -> Range<usize> {
        match at {
            At::Circuit => 0..0,
            At::Sketch(sketch) => self.sketches[sketch].0.clone(),
            At::Setting(sketch, setting) => self.sketches[sketch].1[setting].0.clone(),
            At::Value(sketch, setting) => self.sketches[sketch].1[setting].1.clone(),
            At::Count(count) => self.counts[count].clone(),
        }
    }
}

/// What the sketches of the file are, for the links and timers that name them.
struct Named<'a> {
    /// Every sketch's name, in the order of the file.
    names: Vec<&'a str>,
    /// The kind of each sketch of a known kind.
    kinds: HashMap<&'a str, &'a Kind>,
}

/// Reads and checks `text`, the contents of circuit file `path`, against the
/// program's `kinds`.
///
/// # Errors
/// Every mistake found, in the order of the file.
pub(crate) fn read(path: &Path, text: &str, kinds: &[Kind]) -> Result<Plan, Vec<Diagnostic>> {
    let file = toml_file::parse(text)?;
    let mut errors = Vec::new();
    let (draft, places) = draft(path, &file, kinds, &mut errors);
    let mistakes = match check(draft, kinds, Source::File) {
        Ok(plan) if errors.is_empty() => return Ok(plan),
        Ok(_) => Vec::new(),
        Err(mistakes) => mistakes,
    };
    errors.extend(
        mistakes
            .into_iter()
            .map(|mistake| at(places.of(mistake.at), mistake.message)),
    );
    errors.sort_by_key(|error| error.span.start);
    Err(errors)
}

/// The circuit the file describes, as written, with where each part is;
/// what only a file can get wrong goes to `errors`.
fn draft(
    path: &Path,
    file: &File,
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
    // Pass one: every sketch's kind, so that links can be checked against it.
    let found: Vec<Option<usize>> = entries
        .iter()
        .map(|(key, table)| kind_of(key, table, kinds, errors))
        .collect();
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
        names,
    };
    let mut places = Places::default();
    let mut sketches = Vec::new();
    for ((key, table), kind) in entries.iter().zip(found) {
        let (sketch, settings) = match kind {
            Some(kind) => {
                check_name(key, errors);
                sketch(key, table, kind, &kinds[kind], &named, errors)
            }
            // Of an unknown kind, reported already: kept for its name alone.
            None => (bare(key.get_ref(), None), Vec::new()),
        };
        sketches.push(sketch);
        places.sketches.push((key.span(), settings));
    }
    let (counts, spans) = summary(&file.summary, errors);
    places.counts = spans;
    let draft = Draft {
        name,
        about: file.about.clone(),
        sketches,
        counts,
    };
    (draft, places)
}

/// A sketch called `name` with nothing written for it yet.
fn bare(name: &str, kind: Option<usize>) -> DraftSketch {
    DraftSketch {
        name: name.to_owned(),
        kind,
        to: None,
        settings: Vec::new(),
        host: None,
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
                let values = match kind.setting(long) {
                    Some(found) => match given(found, value, named, key.get_ref(), errors) {
                        Some(values) => values,
                        None => continue,
                    },
                    // The check says what its settings are.
                    None => Vec::new(),
                };
                sketch.settings.push(Written {
                    long: long.to_owned(),
                    values,
                });
                places.push((setting.span(), span));
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
    let found = kinds.iter().position(|known| known.name == kind);
    if found.is_none() {
        let names: Vec<&str> = kinds.iter().map(|known| known.name).collect();
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

/// The values `value` gives to `setting`, as text for its parser (which the
/// check runs) or as sketches of the circuit for a link.
fn given(
    setting: &'static Setting,
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
    let Some(takes) = kind.takes.filter(|_| kind.serves) else {
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

/// `FILE:LINE:COLUMN: message`, one line per diagnostic, lines and columns from 1.
pub(crate) fn render(path: &Path, text: &str, diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|diagnostic| {
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

    #[test]
    fn places_are_lines_and_columns_from_one() {
        let text = "name = \"x\"\n\n[sketches.iopin]\nchanse = 1\n";
        let at_chanse = text.find("chanse").unwrap();
        let shown = render(
            Path::new("c.toml"),
            text,
            &[at(0..4, "first"), at(at_chanse..at_chanse + 6, "second")],
        );
        assert_eq!(shown, "c.toml:1:1: first\nc.toml:4:1: second");
    }
}
