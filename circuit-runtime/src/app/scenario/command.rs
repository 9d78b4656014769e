//! `test FILE...`: every scenario file read and checked first (any mistake:
//! all of them said, nothing run, exit 2); then one scenario runs in this
//! process, or several each in a process of its own (this program again,
//! `test --report R FILE`), as many at once as the machine has cores: the
//! recorder and the log a scenario watches are a process's. One line per
//! scenario as it ends, then `N passed, M failed`; `--junit FILE` writes
//! the results as JUnit XML.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use clap::{value_parser, Arg, ArgMatches, Command};

use crate::app::flags::{flag, switch};
use crate::app::kind::{self, Kind};
use crate::app::scenario::file::{self, Scenario};
use crate::app::scenario::run::{run_one, Outcome};
use crate::base::error::{Error, Result};

/// The scenario files.
const FILES: &str = "files";
/// `--realtime`: wait out the times instead of simulating them.
const REALTIME: &str = "realtime";
/// `--junit FILE`.
const JUNIT: &str = "junit";
/// `--jobs N`: scenarios at once.
const JOBS: &str = "jobs";
/// `--verbose`: the sketches' lines too.
const VERBOSE: &str = "verbose";
/// Hidden: run the one file given and write its outcome to this file (a
/// process of a call with several files).
const REPORT: &str = "report";

/// The `test` subcommand of every program.
pub(crate) fn test_command() -> Command {
    Command::new("test")
        .about("Runs scenario files (TOML): a circuit, messages sent at simulated times, and what must (or must never) happen")
        .arg(
            Arg::new(FILES)
                .value_name("FILE")
                .required(true)
                .num_args(1..)
                .value_parser(value_parser!(PathBuf))
                .help("Scenario files: `circuit = \"FILE\"` or [sketches.*], then [[send]], [[expect]] and [[never]] tables"),
        )
        .arg(switch(REALTIME).help("Wait out the scenario's times on the real clock instead of simulating them"))
        .arg(
            flag(JUNIT)
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help("Also write the results as JUnit XML, for CI systems"),
        )
        .arg(
            flag(JOBS)
                .value_name("N")
                .value_parser(value_parser!(usize))
                .help("Scenarios run at once, each in a process of its own [default: the machine's cores]"),
        )
        .arg(
            switch(VERBOSE)
                .short('v')
                .help("Print the sketches' log lines (of a call with one file)"),
        )
        .arg(
            flag(REPORT)
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .hide(true),
        )
}

/// Runs `test`.
///
/// # Errors
/// [`Error::Circuit`] (exit 2) listing every mistake of every file, with
/// nothing run; [`Error::Failed`] (exit 1) when a scenario failed;
/// [`Error::Setup`] when the results cannot be written.
pub(crate) fn run_test(kinds: &[Kind], matches: &mut ArgMatches) -> Result<()> {
    let kinds = &kind::for_files(kinds);
    let files: Vec<PathBuf> = matches
        .remove_many(FILES)
        .map(Iterator::collect)
        .unwrap_or_default();
    let realtime = matches.get_flag(REALTIME);
    let verbose = matches.get_flag(VERBOSE);
    let junit: Option<PathBuf> = matches.remove_one(JUNIT);
    let report: Option<PathBuf> = matches.remove_one(REPORT);
    let mut scenarios = Vec::new();
    let mut mistakes = Vec::new();
    for path in &files {
        match file::read(path, kinds, realtime) {
            Ok(scenario) => scenarios.push(scenario),
            Err(err) => mistakes.push(match err {
                Error::Circuit(said) => said,
                other => other.to_string(),
            }),
        }
    }
    if !mistakes.is_empty() {
        let count: usize = mistakes.iter().map(|said| said.lines().count()).sum();
        return Err(Error::Circuit(format!(
            "{count} mistake{} in the scenario files; nothing was run:\n{}",
            if count == 1 { "" } else { "s" },
            mistakes.join("\n")
        )));
    }
    if let Some(report) = report {
        // One of several: its outcome goes to the call that started it.
        let scenario = scenarios
            .pop()
            .ok_or_else(|| Error::Setup("no scenario".to_owned()))?;
        let outcome = run_one(scenario, kinds, realtime, false)?;
        std::fs::write(&report, encode(&outcome))
            .map_err(|err| Error::Setup(format!("cannot write {}: {err}", report.display())))?;
        return Ok(());
    }
    let outcomes = if scenarios.len() == 1 {
        let scenario = scenarios
            .pop()
            .ok_or_else(|| Error::Setup("no scenario".to_owned()))?;
        let outcome = run_one(scenario, kinds, realtime, verbose)?;
        println!("{}", outcome.lines());
        vec![outcome]
    } else {
        let jobs = matches
            .remove_one::<usize>(JOBS)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
            .max(1);
        in_processes(&scenarios, jobs, realtime)?
    };
    let failed = outcomes.iter().filter(|outcome| !outcome.passed()).count();
    println!("{} passed, {failed} failed", outcomes.len() - failed);
    if let Some(junit) = junit {
        std::fs::write(&junit, junit_xml(&outcomes))
            .map_err(|err| Error::Setup(format!("cannot write {}: {err}", junit.display())))?;
    }
    if failed > 0 {
        return Err(Error::Failed(format!(
            "{failed} of {} scenario{} failed",
            outcomes.len(),
            if outcomes.len() == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// Runs each scenario in a process of its own, `jobs` at once; prints each
/// result as it comes; the outcomes, in the order of the files.
fn in_processes(scenarios: &[Scenario], jobs: usize, realtime: bool) -> Result<Vec<Outcome>> {
    let program = std::env::current_exe()?;
    let dir = std::env::temp_dir().join(format!("circuit-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let queue: Arc<Mutex<VecDeque<(usize, PathBuf, String)>>> = Arc::new(Mutex::new(
        scenarios
            .iter()
            .enumerate()
            .map(|(at, scenario)| (at, scenario.path.clone(), scenario.name.clone()))
            .collect(),
    ));
    let (told, results) = mpsc::channel();
    let workers: Vec<_> = (0..jobs.min(scenarios.len()))
        .map(|_| {
            let (queue, told, program, dir) = (
                Arc::clone(&queue),
                told.clone(),
                program.clone(),
                dir.clone(),
            );
            std::thread::spawn(move || loop {
                let next = queue
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .pop_front();
                let Some((at, path, name)) = next else {
                    return;
                };
                let outcome = in_a_process(&program, &dir, at, &path, name, realtime);
                if told.send((at, outcome)).is_err() {
                    return;
                }
            })
        })
        .collect();
    drop(told);
    let mut outcomes: Vec<Option<Outcome>> = vec![None; scenarios.len()];
    for (at, outcome) in results {
        println!("{}", outcome.lines());
        outcomes[at] = Some(outcome);
    }
    for worker in workers {
        let _ = worker.join();
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(outcomes.into_iter().flatten().collect())
}

/// Runs scenario `path` (the `at`th) in a process of its own: its outcome,
/// or a failure that says how the process ended.
fn in_a_process(
    program: &Path,
    dir: &Path,
    at: usize,
    path: &Path,
    name: String,
    realtime: bool,
) -> Outcome {
    let report = dir.join(format!("{at}.result"));
    let mut command = std::process::Command::new(program);
    command.arg("test").arg("--report").arg(&report);
    if realtime {
        command.arg("--realtime");
    }
    command.arg(path);
    let started = std::time::Instant::now();
    let ran = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let failed = |why: String| Outcome {
        name: name.clone(),
        file: path.display().to_string(),
        simulated: Duration::ZERO,
        wall: started.elapsed(),
        failures: vec![format!("{}: {why}", path.display())],
    };
    match ran {
        Err(err) => failed(format!("cannot start {}: {err}", program.display())),
        Ok(output) => match std::fs::read_to_string(&report)
            .ok()
            .and_then(|text| decode(&text))
        {
            Some(outcome) => outcome,
            None => {
                let said = String::from_utf8_lossy(&output.stderr);
                let said = said.trim();
                failed(format!(
                    "its process ended ({}) without a result{}",
                    output.status,
                    if said.is_empty() {
                        String::new()
                    } else {
                        format!(": {said}")
                    }
                ))
            }
        },
    }
}

/// An outcome as a process of a call writes it: its name, file, times, then its failures, a line each.
fn encode(outcome: &Outcome) -> String {
    let mut text = format!(
        "{}\n{}\n{}\n{}\n",
        outcome.name,
        outcome.file,
        outcome.simulated.as_nanos(),
        outcome.wall.as_nanos()
    );
    for failure in &outcome.failures {
        // A failure is one line; a line break in what a sketch said is kept as a space.
        text.push_str(&failure.replace('\n', " "));
        text.push('\n');
    }
    text
}

/// An outcome [`encode`] wrote.
fn decode(text: &str) -> Option<Outcome> {
    let mut lines = text.lines();
    let name = lines.next()?.to_owned();
    let file = lines.next()?.to_owned();
    let simulated = Duration::from_nanos(lines.next()?.parse().ok()?);
    let wall = Duration::from_nanos(lines.next()?.parse().ok()?);
    Some(Outcome {
        name,
        file,
        simulated,
        wall,
        failures: lines.map(str::to_owned).collect(),
    })
}

/// The outcomes as JUnit XML: one test suite, one test case per scenario
/// (its class name is its file), a `<failure>` for each that failed.
pub(crate) fn junit_xml(outcomes: &[Outcome]) -> String {
    let failed = outcomes.iter().filter(|outcome| !outcome.passed()).count();
    let total: f64 = outcomes
        .iter()
        .map(|outcome| outcome.wall.as_secs_f64())
        .sum();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"{}\" failures=\"{failed}\" time=\"{total:.3}\">\n  <testsuite name=\"scenarios\" tests=\"{}\" failures=\"{failed}\" time=\"{total:.3}\">\n",
        outcomes.len(),
        outcomes.len()
    );
    for outcome in outcomes {
        xml.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\">\n",
            escape(&outcome.name),
            escape(&outcome.file),
            outcome.wall.as_secs_f64()
        ));
        if let Some(first) = outcome.failures.first() {
            xml.push_str(&format!(
                "      <failure message=\"{}\">{}</failure>\n",
                escape(first),
                escape(&outcome.failures.join("\n"))
            ));
        }
        xml.push_str(&format!(
            "      <system-out>{} simulated</system-out>\n    </testcase>\n",
            file::seconds(outcome.simulated)
        ));
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// `text` with XML's five special characters escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(failures: &[&str]) -> Outcome {
        Outcome {
            name: "buzzes".to_owned(),
            file: "s/buzzes.toml".to_owned(),
            simulated: Duration::from_secs(5),
            wall: Duration::from_millis(12),
            failures: failures.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    #[test]
    fn an_outcome_crosses_between_processes_unchanged() {
        let failed = outcome(&["s/buzzes.toml:3:1: expected <x> & \"y\"", "second"]);
        assert_eq!(decode(&encode(&failed)), Some(failed));
        let passed = outcome(&[]);
        assert_eq!(decode(&encode(&passed)), Some(passed));
    }

    #[test]
    fn junit_escapes_what_a_failure_says() {
        let xml = junit_xml(&[outcome(&[]), outcome(&["a <b> & \"c\""])]);
        assert!(
            xml.contains("<testsuites tests=\"2\" failures=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains("<failure message=\"a &lt;b&gt; &amp; &quot;c&quot;\">"),
            "{xml}"
        );
        assert_eq!(xml.matches("<testcase ").count(), 2);
    }
}
