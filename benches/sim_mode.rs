//! The one-process circuit: in-memory wires against loopback sockets
//! (`--sockets`) on the same build, side by side, and a million ticks of
//! simulated time (`--sim`), each a whole run of the program.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::PROGRAM;

/// Wall time of `circuit ARGS…` as a whole process.
fn circuit(args: &[&str]) -> Duration {
    let started = Instant::now();
    let status = Command::new(PROGRAM)
        .arg("circuit")
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the circuit runs");
    assert!(status.success(), "circuit {args:?} failed");
    started.elapsed()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Prints ticks/s in-process and over sockets, their ratio, and the wall time
/// of a million simulated ticks, medians of `runs`.
pub fn run(runs: usize, quick: bool) {
    let ticks: u64 = if quick { 50_000 } else { 200_000 };
    let count = ticks.to_string();
    let (mut memory, mut sockets) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let args = ["-t", count.as_str(), "-d", "0", "-q", "--seed", "1"];
        memory.push(ticks as f64 / circuit(&args).as_secs_f64());
        let mut over = args.to_vec();
        over.push("--sockets");
        sockets.push(ticks as f64 / circuit(&over).as_secs_f64());
    }
    let (memory, sockets) = (median(memory), median(sockets));
    println!();
    println!("one-process circuit, medians of {runs}");
    println!(
        "| `circuit -t {ticks} -d 0 -q`: ticks/s in-process / with --sockets | {:.1}× | {memory:.0} | {sockets:.0} |",
        memory / sockets
    );
    let simulated: u64 = if quick { 100_000 } else { 1_000_000 };
    let count = simulated.to_string();
    let mut walls = Vec::new();
    for _ in 0..runs {
        walls.push(circuit(&["-t", &count, "-d", "1", "--sim", "-q", "--seed", "1"]).as_secs_f64());
    }
    println!(
        "| `circuit -t {simulated} -d 1 --sim -q` ({:.1} simulated days): wall time | {:.2} s |",
        simulated as f64 / 86_400.0,
        median(walls)
    );
}
