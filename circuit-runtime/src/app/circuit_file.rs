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

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use crate::app::kind::Kind;
use crate::base::settings::Setting;
use crate::base::wiring::MessageType;
use crate::net::address::{Address, NAME_PREFIX};
use crate::observe::analyzer::Counting;

/// Keys of a sketch's table that are not settings.
const RESERVED: &[&str] = &["kind", "to", "host"];

/// One mistake in a circuit file, at a place in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Diagnostic {
    /// The bytes of the file it is about.
    pub(crate) span: Range<usize>,
    /// What is wrong, and what to write instead.
    pub(crate) message: String,
}

/// A circuit file, read and checked.
#[derive(Clone, Debug)]
pub(crate) struct Circuit {
    /// Its name: `name = "…"`, or the file's stem.
    pub(crate) name: String,
    /// `about = "…"`: one line saying what it does, for `--help`.
    pub(crate) about: Option<String>,
    /// Its sketches, in the order of the file.
    pub(crate) sketches: Vec<Planned>,
    /// What its summary line counts, in the order of the file.
    pub(crate) summary: Vec<Count>,
    /// `up --host H`: only the sketches placed on H run here.
    pub(crate) here: Option<String>,
}

/// One count of a circuit's summary line: "15 bits drawn".
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Count {
    /// What is counted, after the number.
    pub(crate) label: String,
    /// The signal counted, `sketch.name`.
    pub(crate) signal: String,
    /// Its changes, or its rises.
    pub(crate) counting: Counting,
}

/// One sketch of a circuit, ready to be started once its peers' ports are known.
#[derive(Clone, Debug)]
pub(crate) struct Planned {
    /// Its name in the circuit.
    pub(crate) name: String,
    /// Its kind, as an index into the program's kinds.
    pub(crate) kind: usize,
    /// For a timer: where it sends (a sketch, or a URL as text).
    pub(crate) to: Option<Given>,
    /// The values its settings were given, as text or as sketches to link to.
    pub(crate) given: Vec<(&'static Setting, Vec<Given>)>,
    /// `host = "…"`: where it is placed, for circuits across hosts.
    pub(crate) host: Option<String>,
}

/// One value given to a setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Given {
    /// Text for the setting's parser (a URL, for a link).
    Text(String),
    /// A link to a sketch of the circuit.
    Sketch(Target),
}

/// A sketch of the circuit, on a path of its server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// The sketch's name in the circuit.
    pub(crate) sketch: String,
    /// The path, when written as `name/path`.
    pub(crate) path: Option<String>,
}

/// A sketch's table as written: every key with its place.
type Table = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

/// The file as written.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Option<Spanned<String>>,
    about: Option<String>,
    #[serde(default)]
    sketches: BTreeMap<Spanned<String>, Spanned<Table>>,
    #[serde(default)]
    summary: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

/// Reads and checks `text`, the contents of circuit file `path`, against the
/// program's `kinds`.
///
/// # Errors
/// Every mistake found, in the order of the file.
pub(crate) fn read(path: &Path, text: &str, kinds: &[Kind]) -> Result<Circuit, Vec<Diagnostic>> {
    let file: File = toml::from_str(text).map_err(|err| {
        let message = err.message().trim();
        let message = if message == "duplicate key" {
            "this name is taken already: every sketch (and every setting of one) needs a name of its own".to_owned()
        } else {
            message.to_owned()
        };
        vec![Diagnostic {
            span: err.span().unwrap_or(0..0),
            message,
        }]
    })?;
    let mut errors = Vec::new();
    let name = match &file.name {
        Some(name) => name.get_ref().clone(),
        None => path.file_stem().map_or_else(
            || "circuit".to_owned(),
            |stem| stem.to_string_lossy().into_owned(),
        ),
    };
    let mut entries: Vec<_> = file.sketches.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    if entries.is_empty() {
        errors.push(Diagnostic {
            span: 0..0,
            message: "this circuit has no sketches; add one as `[sketches.NAME]`".to_owned(),
        });
    }
    let names: Vec<&str> = entries
        .iter()
        .map(|(key, _)| key.get_ref().as_str())
        .collect();
    // Pass one: every sketch's kind, so that links can be checked against it.
    let found: Vec<Option<usize>> = entries
        .iter()
        .map(|(key, table)| kind_of(key, table.get_ref(), kinds, &mut errors))
        .collect();
    // What each sketch of a known kind is: whether it serves, and its kind's name.
    let kind_named: HashMap<&str, &Kind> = names
        .iter()
        .zip(&found)
        .filter_map(|(name, kind)| kind.map(|kind| (*name, &kinds[kind])))
        .collect();
    let mut sketches = Vec::new();
    for ((key, table), kind) in entries.iter().zip(&found) {
        let Some(kind) = *kind else { continue };
        let table = table.get_ref();
        let mut planned = Planned {
            name: key.get_ref().clone(),
            kind,
            to: None,
            given: Vec::new(),
            host: None,
        };
        let kind = &kinds[kind];
        check_name(key, &mut errors);
        for (setting, value) in table {
            let span = value.span();
            match setting.get_ref().as_str() {
                "kind" => {}
                "host" => match value.get_ref() {
                    toml::Value::String(host) => planned.host = Some(host.clone()),
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
                    match value.get_ref() {
                        toml::Value::String(to) => {
                            let sends = Sends {
                                what: format!("`{}` ({}) sends", key.get_ref(), kind.name),
                                sends: kind.sends.unwrap_or(MessageType::ANY_TEXT),
                                fix: "point `to` at a sketch that takes it",
                            };
                            planned.to =
                                target(to, span.clone(), &names, &kind_named, &sends, &mut errors);
                            if let Some(Given::Sketch(Target {
                                path: Some(path), ..
                            })) = &planned.to
                            {
                                errors.push(at(
                                    span,
                                    format!(
                                        "a timer sends to its own channel, not to {path}; name the sketch alone"
                                    ),
                                ));
                            }
                        }
                        _ => errors.push(at(
                            span,
                            "`to` names a sketch of this circuit, or a ws:// URL, as a string",
                        )),
                    }
                }
                long => match kind.setting(long) {
                    Some(setting) => {
                        if let Some(values) = given(
                            setting,
                            value,
                            &names,
                            &kind_named,
                            key.get_ref(),
                            &mut errors,
                        ) {
                            planned.given.push((setting, values));
                        }
                    }
                    None => errors.push(at(setting.span(), unknown_setting(kind, long))),
                },
            }
        }
        let has_to = table.keys().any(|setting| setting.get_ref() == "to");
        if !kind.serves && !has_to {
            errors.push(at(
                key.span(),
                format!(
                    "`{}` is a timer ({}) and needs a target: add `to = \"SKETCH\"` (or a ws:// URL)",
                    key.get_ref(),
                    kind.name
                ),
            ));
        }
        sketches.push(planned);
    }
    let summary = summary(&file.summary, &names, &mut errors);
    if errors.is_empty() {
        Ok(Circuit {
            name,
            about: file.about,
            sketches,
            summary,
            here: None,
        })
    } else {
        errors.sort_by_key(|error| error.span.start);
        Err(errors)
    }
}

/// The counts of `[summary]`, each of a signal `sketch.name` of a sketch of the circuit.
fn summary(
    table: &BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    names: &[&str],
    errors: &mut Vec<Diagnostic>,
) -> Vec<Count> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(label, _)| label.span().start);
    let mut counts = Vec::new();
    for (label, value) in entries {
        let written = match value.get_ref() {
            toml::Value::String(signal) => Some((signal, Counting::Samples)),
            toml::Value::Table(table) if table.len() == 1 => match table.iter().next() {
                Some((how, toml::Value::String(signal))) if how == "rises" => {
                    Some((signal, Counting::Rises))
                }
                Some((how, toml::Value::String(signal))) if how == "samples" => {
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
        match signal.split_once('.') {
            Some((sketch, name)) if names.contains(&sketch) && !name.is_empty() => {
                counts.push(Count {
                    label: label.get_ref().clone(),
                    signal: signal.clone(),
                    counting,
                });
            }
            Some((sketch, _)) if !names.contains(&sketch) => errors.push(at(
                value.span(),
                format!(
                    "no sketch \"{sketch}\" in this circuit{}; its sketches are {}",
                    closest(sketch, names)
                        .map_or(String::new(), |near| format!(" (did you mean \"{near}\"?)")),
                    names.join(", ")
                ),
            )),
            _ => errors.push(at(
                value.span(),
                format!(
                    "a signal is named \"sketch.name\", such as \"{}.level\", not {signal:?}",
                    names.first().unwrap_or(&"iopin")
                ),
            )),
        }
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
            toml::Value::String(kind) => (kind.as_str(), value.span()),
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
                closest(kind, &names)
                    .map_or(String::new(), |near| format!(" (did you mean \"{near}\"?)")),
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

/// The values `value` gives to `setting`, checked with the setting's own parser.
fn given(
    setting: &'static Setting,
    value: &Spanned<toml::Value>,
    names: &[&str],
    kind_named: &HashMap<&str, &Kind>,
    owner: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<Vec<Given>> {
    let span = value.span();
    if setting.switch {
        return match value.get_ref() {
            toml::Value::Boolean(on) => Some(if *on {
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
    let items: Vec<&toml::Value> = match value.get_ref() {
        toml::Value::Array(items) if setting.repeats => items.iter().collect(),
        toml::Value::Array(_) => {
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
            toml::Value::String(text) => text.clone(),
            toml::Value::Integer(number) => number.to_string(),
            toml::Value::Float(number) => number.to_string(),
            toml::Value::Boolean(flag) => flag.to_string(),
            _ => {
                errors.push(at(
                    span.clone(),
                    format!("`{}` takes a string or a number here", setting.long),
                ));
                return None;
            }
        };
        if let Some(sent) = setting.link {
            let sends = Sends {
                what: format!("this link (`{owner}`'s `{}`) sends", setting.long),
                sends: sent,
                fix: "link it to a sketch that takes it, or declare the link as the type the sketch takes",
            };
            values.push(target(
                &text,
                span.clone(),
                names,
                kind_named,
                &sends,
                errors,
            )?);
            continue;
        }
        if let Err(why) = (setting.parse)(&text) {
            errors.push(at(
                span.clone(),
                format!("`{}` cannot be {text:?}: {why}", setting.long),
            ));
            return None;
        }
        values.push(Given::Text(text));
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
    names: &[&str],
    kind_named: &HashMap<&str, &Kind>,
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
    if !names.contains(&sketch) {
        errors.push(at(
            span,
            format!(
                "no sketch \"{sketch}\" in this circuit{}; its sketches are {} (a sketch outside the circuit, found by DNS-SD, is written \"{NAME_PREFIX}{sketch}\")",
                closest(sketch, names)
                    .map_or(String::new(), |near| format!(" (did you mean \"{near}\"?)")),
                names.join(", ")
            ),
        ));
        return None;
    }
    let Some(kind) = kind_named.get(sketch) else {
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

/// "unknown setting `--chanse` of iopin (did you mean `chance`?); its settings are …".
fn unknown_setting(kind: &Kind, long: &str) -> String {
    let settings: Vec<&str> = kind.settings.iter().map(|setting| setting.long).collect();
    let near =
        closest(long, &settings).map_or(String::new(), |near| format!(" (did you mean `{near}`?)"));
    if settings.is_empty() {
        format!(
            "unknown setting `{long}`: {} has no settings of its own (only `kind`, `to` and `host` are read here)",
            kind.name
        )
    } else {
        format!(
            "unknown setting `{long}` of {}{near}; its settings are {} (and {})",
            kind.name,
            settings.join(", "),
            RESERVED.join(", ")
        )
    }
}

/// The candidate closest to `word`, when it is close enough to be a typo.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| (strsim::jaro_winkler(word, candidate), *candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

fn at(span: Range<usize>, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        span,
        message: message.into(),
    }
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
            &[
                Diagnostic {
                    span: 0..4,
                    message: "first".into(),
                },
                Diagnostic {
                    span: at_chanse..at_chanse + 6,
                    message: "second".into(),
                },
            ],
        );
        assert_eq!(shown, "c.toml:1:1: first\nc.toml:4:1: second");
    }

    #[test]
    fn a_typo_finds_its_word_and_a_stranger_finds_none() {
        let words = ["chance", "sequence", "buzzer"];
        assert_eq!(closest("chanse", &words), Some("chance"));
        assert_eq!(closest("buzer", &words), Some("buzzer"));
        assert_eq!(closest("volume", &words), None);
    }
}
