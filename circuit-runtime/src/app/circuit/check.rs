//! The rules of every circuit, whoever wrote it: one check turns a [`Draft`]
//! into a [`Plan`], or lists every mistake at once, each with where it is.
//!
//! A rule is written here once. What a file and code cannot share stays with
//! them: a file's TOML, kinds by name and links by name (`file`); code's
//! loops and typed links (`wired`).

use crate::app::circuit::options;
use crate::app::circuit::plan::{Draft, DraftSketch, Given, Plan, PlannedSketch};
use crate::app::kind::Kind;
use crate::base::settings::Setting;
use crate::observe::analyzer::Tally;

/// Who wrote a draft, which decides how a mistake names its place: a file's
/// mistakes are shown at their line, which names the sketch; code has no
/// line, so its mistakes name the sketch themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// A circuit file.
    File,
    /// A [`Circuit`](crate::Circuit) wired in code.
    Code,
}

/// What a mistake is about, as indexes into the draft.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum At {
    /// The circuit as a whole.
    Circuit,
    /// A sketch, by its place in the draft.
    Sketch(usize),
    /// A setting's name: the sketch, and the setting's place among its settings.
    Setting(usize, usize),
    /// A setting's value, placed as [`At::Setting`].
    Value(usize, usize),
    /// A count of the summary, by its place.
    Count(usize),
}

/// One mistake of a circuit: where, and what is wrong (and what to do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mistake {
    /// What it is about.
    pub(crate) at: At,
    /// What is wrong, and what to write instead.
    pub(crate) message: String,
}

/// The plan of `draft`, checked against `kinds`, or every mistake it has.
///
/// A sketch of no known kind (`kind: None`) was reported by whoever wrote the
/// draft: it counts as a name of the circuit, and is left out of the plan.
///
/// # Errors
/// Every mistake, in the order of the draft.
pub(crate) fn check(draft: Draft, kinds: &[Kind], source: Source) -> Result<Plan, Vec<Mistake>> {
    let mut mistakes = Vec::new();
    if draft.sketches.is_empty() {
        let add = match source {
            Source::File => "as `[sketches.NAME]`",
            Source::Code => "with `Circuit::serve`",
        };
        mistakes.push(Mistake {
            at: At::Circuit,
            message: format!("this circuit has no sketches; add one {add}"),
        });
    }
    let names: Vec<&str> = draft.sketches.iter().map(|s| s.name.as_str()).collect();
    let mut hosts: Vec<&str> = draft
        .sketches
        .iter()
        .filter_map(|sketch| sketch.host.as_deref())
        .collect();
    hosts.sort_unstable();
    hosts.dedup();
    let mut sketches = Vec::new();
    for (at, sketch) in draft.sketches.iter().enumerate() {
        // Placing some sketches splits the circuit into parts (`up FILE
        // --host H`): one placed nowhere would run in none of them.
        if sketch.host.is_none() && !hosts.is_empty() {
            mistakes.push(Mistake {
                at: At::Sketch(at),
                message: format!(
                    "`{}` has no `host` while other sketches of this circuit are placed (on {}): no `up FILE --host H` would start it; add `host = \"…\"`",
                    sketch.name,
                    hosts.join(", "),
                ),
            });
        }
        if names[..at].contains(&sketch.name.as_str()) {
            mistakes.push(Mistake {
                at: At::Sketch(at),
                message: format!(
                    "two sketches are called `{}`; give each a name of its own",
                    sketch.name
                ),
            });
        }
        if let Some(kind) = sketch.kind {
            sketches.push(planned(at, sketch, kind, kinds, source, &mut mistakes));
            // Code cannot set a link to a URL (`Circuit::set` refuses one):
            // only a file can be told to name the URL on purpose.
            if source == Source::File {
                mistakes.extend(unset_links(at, sketch, &kinds[kind], &draft, kinds));
            }
        }
    }
    for (at, count) in draft.counts.iter().enumerate() {
        if let Some(message) = count_of_nobody(count, &names, source) {
            mistakes.push(Mistake {
                at: At::Count(at),
                message,
            });
        }
    }
    if !mistakes.is_empty() {
        return Err(mistakes);
    }
    Ok(Plan {
        name: draft.name,
        about: draft.about,
        sketches,
        counts: draft.counts,
        published: draft.published,
        here: None,
    })
}

/// Sketch `sketch` (the `at`-th of the draft) of the `index`-th of `kinds`,
/// its settings found and their values parsed, its framework options
/// checked; a timer has a target.
fn planned(
    at: usize,
    sketch: &DraftSketch,
    index: usize,
    kinds: &[Kind],
    source: Source,
    mistakes: &mut Vec<Mistake>,
) -> PlannedSketch {
    let kind = &kinds[index];
    let mut given: Vec<(&'static Setting, Vec<Given>)> = Vec::new();
    let mut flags = Vec::new();
    for (written, setting) in sketch.settings.iter().enumerate() {
        let Some(found) = kind.setting(&setting.long) else {
            match options::option(kind, &setting.long) {
                Some(option) => match option_words(kind, &option, &setting.values) {
                    Ok(words) => flags.extend(words),
                    Err(refused) => mistakes.push(Mistake {
                        at: At::Value(at, written),
                        message: format!(
                            "{}`{}` cannot be {:?}: {}",
                            owner(sketch, source),
                            setting.long,
                            refused.text,
                            refused.why
                        ),
                    }),
                },
                None => mistakes.push(Mistake {
                    at: At::Setting(at, written),
                    message: unknown_setting(&sketch.name, kind, kinds, &setting.long, source),
                }),
            }
            continue;
        };
        // A link's text is a URL, checked by whoever wrote it; parsing one
        // here would make a link.
        let refused = setting.values.iter().find_map(|value| match value {
            Given::Text(text) if found.link.is_none() => {
                (found.parse)(text).err().map(|why| (text, why))
            }
            _ => None,
        });
        if let Some((text, why)) = refused {
            mistakes.push(Mistake {
                at: At::Value(at, written),
                message: format!(
                    "{}`{}` cannot be {text:?}: {why}",
                    owner(sketch, source),
                    found.long
                ),
            });
            continue;
        }
        // Given twice (in code): a setting that repeats takes both, another the last.
        match given.iter_mut().find(|(had, _)| had.id == found.id) {
            Some((_, values)) if found.repeats => values.extend(setting.values.iter().cloned()),
            Some((_, values)) => values.clone_from(&setting.values),
            None => given.push((found, setting.values.clone())),
        }
    }
    if !kind.serves && sketch.to.is_none() && sketch.command.is_none() {
        let message = match source {
            Source::File => format!(
                "`{}` is a timer ({}) and needs a target: add `to = \"SKETCH\"` (or a ws:// URL)",
                sketch.name, kind.name
            ),
            Source::Code => format!(
                "`{}` is a timer and sends nowhere: point it at a sketch with `Circuit::send`",
                sketch.name
            ),
        };
        mistakes.push(Mistake {
            at: At::Sketch(at),
            message,
        });
    }
    PlannedSketch {
        name: sketch.name.clone(),
        kind: index,
        to: sketch.to.clone(),
        given,
        options: flags,
        host: sketch.host.clone(),
        command: sketch.command.clone(),
    }
}

/// The links of `sketch` (the `at`-th) that a file leaves unset although
/// their default goes somewhere: a default URL is never a sketch of the
/// circuit (they listen on ports picked at start, or inside the process), so
/// an unset link would quietly reach whatever answers there, such as an
/// actuator that another run left listening.
fn unset_links(
    at: usize,
    sketch: &DraftSketch,
    kind: &Kind,
    draft: &Draft,
    kinds: &[Kind],
) -> Vec<Mistake> {
    let unset = kind.settings.iter().filter(|setting| {
        setting.link.is_some()
            && !sketch
                .settings
                .iter()
                .any(|written| written.long == setting.long)
    });
    unset
        .filter_map(|setting| {
            let default = setting.default.filter(|url| !url.trim().is_empty())?;
            let sends = setting.link?;
            // A sketch of the circuit the link could name instead.
            let fits = draft.sketches.iter().find(|other| {
                other.name != sketch.name
                    && other.kind.is_some_and(|other| {
                        kinds[other].serves
                            && kinds[other]
                                .takes
                                .is_some_and(|takes| takes.takes(sends))
                    })
            });
            let example = fits.map_or("NAME", |other| other.name.as_str());
            let long = setting.long;
            // The default as the file would write it: a list for a fan-out.
            let named = if setting.repeats {
                let urls: Vec<String> = default.split(',').map(|url| format!("{url:?}")).collect();
                format!("[{}]", urls.join(", "))
            } else {
                format!("{default:?}")
            };
            Some(Mistake {
                at: At::Sketch(at),
                message: format!(
                    "the link `{long}` is not set, and its default, {default}, is outside this circuit: set it to a sketch of the circuit (`{long} = \"{example}\"`), or to that URL on purpose (`{long} = {named}`)"
                ),
            })
        })
        .collect()
}

/// Whose value a mistake is about: a file's line names the sketch; code
/// has no line, so its mistakes say "`pin`'s …".
fn owner(sketch: &DraftSketch, source: Source) -> String {
    match source {
        Source::File => String::new(),
        Source::Code => format!("`{}`'s ", sketch.name),
    }
}

/// The command-line words of option `option` given `values` (text alone:
/// an option links nowhere), checked by the flag's own parser.
fn option_words(
    kind: &Kind,
    option: &clap::Arg,
    values: &[Given],
) -> Result<Vec<String>, options::Refused> {
    let texts: Vec<String> = values
        .iter()
        .map(|value| match value {
            Given::Text(text) => text.clone(),
            Given::Sketch(target) => target.sketch.clone(),
        })
        .collect();
    options::words(kind, option, &texts)
}

/// "unknown setting `chanse` of iopin (did you mean `chance`?); its settings
/// are …" in a file, where the line names the sketch; in code, which has
/// none, "`pin` (iopin) has no setting `chanse`; its settings are …".
fn unknown_setting(
    sketch: &str,
    kind: &Kind,
    kinds: &[Kind],
    long: &str,
    source: Source,
) -> String {
    let settings: Vec<&str> = kind.settings.iter().map(|setting| setting.long).collect();
    let options = options::names(kind);
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let keys: Vec<&str> = settings.iter().chain(&options).copied().collect();
    // An option of other kinds (`link-attempts` on a sketch without links).
    let elsewhere = if kinds
        .iter()
        .any(|other| options::option(other, long).is_some())
    {
        format!(
            ": {}'s command line has no `--{long}` (other kinds' have)",
            kind.name
        )
    } else {
        String::new()
    };
    match source {
        Source::Code => format!(
            "`{sketch}` ({}) has no setting `{long}`; its settings are {}",
            kind.name,
            if settings.is_empty() {
                "none".to_owned()
            } else {
                settings.join(", ")
            }
        ),
        Source::File if settings.is_empty() => format!(
            "unknown setting `{long}`{}{elsewhere}: {} has no settings of its own (only `kind`, `to`, `host` and the framework's options {} are read here)",
            did_you_mean(long, &keys, '`'),
            kind.name,
            options.join(", ")
        ),
        Source::File => format!(
            "unknown setting `{long}` of {}{}{elsewhere}; its settings are {} (and kind, to, host, and the framework's options {})",
            kind.name,
            did_you_mean(long, &keys, '`'),
            settings.join(", "),
            options.join(", ")
        ),
    }
}

/// Why `count` counts nothing of this circuit, if it does not: a signal of
/// no sketch of it, or not a signal's name at all.
fn count_of_nobody(count: &Tally, names: &[&str], source: Source) -> Option<String> {
    let which = match source {
        Source::File => String::new(),
        Source::Code => format!("the count `{}`: ", count.label),
    };
    let signal = &count.signal;
    match signal.split_once('.') {
        Some((sketch, name)) if names.contains(&sketch) && !name.is_empty() => None,
        Some((sketch, _)) if !names.contains(&sketch) => Some(format!(
            "{which}{}; its sketches are {}",
            no_sketch(sketch, names),
            names.join(", ")
        )),
        _ => Some(format!(
            "{which}a signal is named \"sketch.name\", such as \"{}.level\", not {signal:?}",
            names.first().unwrap_or(&"iopin")
        )),
    }
}

/// `no sketch "buzer" in this circuit (did you mean "buzzer"?)`.
pub(crate) fn no_sketch(sketch: &str, names: &[&str]) -> String {
    format!(
        "no sketch \"{sketch}\" in this circuit{}",
        did_you_mean(sketch, names, '"')
    )
}

/// ` (did you mean "buzzer"?)` when a candidate is close enough to `word` to
/// be what a typo meant, quoted with `quote`; else nothing.
pub(crate) fn did_you_mean(word: &str, candidates: &[&str], quote: char) -> String {
    closest(word, candidates).map_or(String::new(), |near| {
        format!(" (did you mean {quote}{near}{quote}?)")
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_finds_its_word_and_a_stranger_finds_none() {
        let words = ["chance", "sequence", "buzzer"];
        assert_eq!(closest("chanse", &words), Some("chance"));
        assert_eq!(closest("buzer", &words), Some("buzzer"));
        assert_eq!(closest("volume", &words), None);
    }
}
