//! `SKETCH --replay REC.vcd`: one server sketch driven by what it received in
//! a recording (its `SKETCH.in` lane), at the recorded times — simulated by
//! default, `--realtime` to wait them out — with no other sketch and no
//! socket; `--check` compares the signals it records with the recording's.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::ArgMatches;

use crate::app::command::from_matches;
use crate::app::process::run_until_interrupted;
use crate::base::error::{Error, Result};
use crate::base::sketch::{Runs, Sketch};
use crate::observe::inputs::{self, Changes, LANE};
use crate::observe::log;
use crate::observe::trace::Trace;

/// How many differences `--check` lists at most.
const SHOWN: usize = 10;

/// Replays sketch `S` from the recording `file`.
///
/// # Errors
/// [`Error::Setup`] (exit 2) for a recording that cannot be read or holds no
/// inputs of the sketch; [`Error::Mismatch`] (exit 1) when `--check` finds
/// the replay's signals differ from the recording's.
pub(crate) fn run<S: Sketch>(
    file: PathBuf,
    realtime: bool,
    check: bool,
    matches: &mut ArgMatches,
) -> Result<()> {
    let recorded = inputs::read(&file).map_err(Error::Setup)?;
    let (sketch, options) = from_matches::<S>(matches);
    let name = options.named.unwrap_or(S::NAME);
    let fed: Vec<(Duration, String, String)> = inputs::inputs_of(&recorded, name)
        .into_iter()
        .map(|input| (Duration::from_nanos(input.at), input.channel, input.text))
        .collect();
    if fed.is_empty() {
        return Err(Error::Setup(format!(
            "{} holds no inputs of {name} (no {name}.{LANE} lane): record a run with --vcd that {name} was part of",
            file.display()
        )));
    }
    if !realtime {
        log::simulate();
    }
    run_until_interrupted(
        name,
        options.quiet,
        options.stop_timeout,
        |_shutdown| async move {
            let trace = Trace::install(true);
            let count = fed.len();
            <S::Role as Runs<S>>::replay(sketch, fed).await?;
            tracing::info!("replayed {count} messages from {}", file.display());
            if !check {
                return Ok(());
            }
            let mut replayed = Changes::new();
            for change in trace
                .kept()
                .into_iter()
                .filter(|change| change.sketch == name)
            {
                replayed
                    .entry(change.signal())
                    .or_default()
                    .push((change.at, inputs::as_recorded(&change.value)));
            }
            compare(&recorded, &replayed, name)
        },
    )
}

/// The first differences between the recorded and the replayed signals of
/// `name` (its inputs aside), or how much matched.
fn compare(recorded: &Changes, replayed: &Changes, name: &str) -> Result<()> {
    let ours = |changes: &Changes| -> BTreeMap<String, Vec<(u64, String)>> {
        changes
            .iter()
            .filter(|(signal, _)| {
                signal
                    .strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|short| short != LANE)
            })
            .map(|(signal, values)| (signal.clone(), values.clone()))
            .collect()
    };
    let (expected, got) = (ours(recorded), ours(replayed));
    let mut signals: Vec<&String> = expected.keys().chain(got.keys()).collect();
    signals.sort();
    signals.dedup();
    let mut differences = Vec::new();
    let mut matched = 0;
    for signal in &signals {
        let none = Vec::new();
        let (want, have) = (
            expected.get(*signal).unwrap_or(&none),
            got.get(*signal).unwrap_or(&none),
        );
        let first = (0..want.len().max(have.len()))
            .find(|&at| want.get(at).map(|(_, v)| v) != have.get(at).map(|(_, v)| v));
        match first {
            None => matched += want.len(),
            Some(at) => {
                let when = want.get(at).or(have.get(at)).map_or(0, |(ns, _)| *ns);
                let shown = |change: Option<&(u64, String)>| {
                    change.map_or("nothing".to_owned(), |(_, value)| value.clone())
                };
                differences.push(format!(
                    "{signal} at {:.6}s (change #{}): expected {}, got {}",
                    when as f64 / 1e9,
                    at + 1,
                    shown(want.get(at)),
                    shown(have.get(at))
                ));
            }
        }
    }
    if differences.is_empty() {
        tracing::info!(
            "the replay matches the recording: {matched} changes of {} signals",
            signals.len()
        );
        return Ok(());
    }
    let more = differences.len().saturating_sub(SHOWN);
    differences.truncate(SHOWN);
    if more > 0 {
        differences.push(format!("… and {more} more signals"));
    }
    Err(Error::Mismatch(differences.join("\n")))
}
