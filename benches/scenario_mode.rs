//! Scenario tests (`test FILE...`): what watching expectations costs a run
//! of simulated time — a scenario of the demo with 100,000 ticks a
//! simulated second apart beside the same circuit run plainly
//! (`circuit -t 100000 -d 1 --sim -q`), side by side — and 16 small
//! scenarios run as one call (in parallel, a process each) against one
//! call after another. Each figure is a whole run of the program.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::PROGRAM;

/// Wall time of `circuit-bench ARGS…` as a whole process, which must succeed.
fn timed(args: &[&str]) -> Duration {
    let started = Instant::now();
    let status = Command::new(PROGRAM)
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the program runs");
    assert!(status.success(), "{args:?} failed");
    started.elapsed()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A scenario of the demo circuit with `ticks` ticks a simulated second
/// apart, watching a signal, a line and a line that must never come.
fn scenario(ticks: u64) -> String {
    let last = ticks - 1;
    format!(
        "seed = 1\ntimeout = {ticks}.0\n\n\
         [sketches.clock]\nto = \"iopin\"\ntacks = {ticks}\ndelay = 1.0\n\n\
         [sketches.iopin]\nbuzzer = \"buzzer\"\n\n[sketches.buzzer]\n\n\
         [[expect]]\nsignal = \"buzzer.buzz\"\nrises = 1000\n\n\
         [[expect]]\nlog = \"> {last}\"\nat = {last}.0\n\n\
         [[never]]\nlog = \"warning\"\n"
    )
}

/// Writes `text` as scenario `name` in `dir`.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("the scenario is written");
    path
}

/// Prints the scenario's wall time beside the plain run's, and 16 small
/// scenarios as one call against one after another; medians of `runs`.
pub fn run(runs: usize, quick: bool) {
    let dir = std::env::temp_dir().join(format!("circuit-bench-scenarios-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder for the scenarios");
    let ticks: u64 = if quick { 20_000 } else { 100_000 };
    let big = write(&dir, "ticks", &scenario(ticks));
    let count = ticks.to_string();
    let (mut plain, mut watched) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        plain.push(
            timed(&[
                "circuit", "-t", &count, "-d", "1", "--sim", "-q", "--seed", "1",
            ])
            .as_secs_f64(),
        );
        watched.push(timed(&["test", big.to_str().expect("a path")]).as_secs_f64());
    }
    let (plain, watched) = (median(plain), median(watched));
    let small_ticks = if quick { 2_000 } else { 10_000 };
    let small: Vec<PathBuf> = (0..16)
        .map(|at| write(&dir, &format!("small-{at}"), &scenario(small_ticks)))
        .collect();
    let small: Vec<&str> = small
        .iter()
        .map(|path| path.to_str().expect("a path"))
        .collect();
    let (mut together, mut one_by_one) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let mut args = vec!["test"];
        args.extend(&small);
        together.push(timed(&args).as_secs_f64());
        let started = Instant::now();
        for file in &small {
            timed(&["test", file]);
        }
        one_by_one.push(started.elapsed().as_secs_f64());
    }
    let (together, one_by_one) = (median(together), median(one_by_one));
    let _ = std::fs::remove_dir_all(&dir);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!();
    println!("scenarios, medians of {runs}, {cores} cores");
    println!(
        "| `circuit -t {ticks} -d 1 --sim -q` / the same circuit as a scenario (a signal, a line, a never): wall time | {plain:.2} s / {watched:.2} s ({:.2}×) |",
        watched / plain
    );
    println!(
        "| 16 scenarios of {small_ticks} ticks: one call / one after another | {together:.2} s / {one_by_one:.2} s ({:.2}× faster) |",
        one_by_one / together
    );
}
