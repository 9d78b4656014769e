//! The metrics mode: the echo sketch with `--metrics 127.0.0.1:0` (every
//! message counted, its loop timed) against the same sketch without,
//! driven by the same load generator, alternating; the ratio should stay
//! at 0.95× or above.

use crate::{block_on, cores, drive, Kind, Server};

/// The echo sketch of the program, with its metrics served when `metered`.
fn echo(metered: bool) -> Server {
    let mut command = Server::command(Kind::Circuit);
    if metered {
        command.args(["--metrics", "127.0.0.1:0"]);
    }
    Server::spawn(command)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Prints messages/s with and without `--metrics` at 100 and 1,000
/// clients, and their ratio, medians of `runs`.
pub fn run(runs: usize, quick: bool) {
    println!(
        "metrics: the echo with --metrics against without, {} cores, medians of {runs}",
        cores()
    );
    println!("| mode | ratio (metrics / none) | --metrics | none |");
    println!("|---|---|---|---|");
    for (clients, each) in [(100, 200), (1_000, 50)] {
        let each = if quick { each / 5 } else { each };
        let (mut metered, mut plain) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            for on in [true, false] {
                let server = echo(on);
                let load = block_on(drive(&server.url, clients, each, None));
                assert_eq!(load.unacked, 0, "every message acknowledged");
                if on { &mut metered } else { &mut plain }.push(load.rate());
            }
        }
        let (metered, plain) = (median(metered), median(plain));
        println!(
            "| {clients} clients × {each}: messages/s | {:.2}× | {metered:.0} | {plain:.0} |",
            metered / plain
        );
    }
}
