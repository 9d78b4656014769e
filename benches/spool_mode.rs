//! The spool mode: the same link with and without `--spool`, as a reactive
//! loop uses it. An iopin (`--sequence 100`) in this process streams 100
//! levels a tick over its link to the echo sketch, directly and through the
//! proxy that holds every chunk 5 ms each way; the benchmark sends it ticks
//! on a link at the default window. With a spool, an acknowledged tick means
//! its 100 levels are on disk, so the rate is levels stored and sent.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use circuit_runtime::net::Server;
use circuit_runtime::Link;
use sketches::IoPin;

/// Levels the iopin sends per tick.
const SEQUENCE: usize = 100;

/// Ticks per measurement: a million levels.
const TICKS: usize = 10_000;

/// One-way delays of the proxy, in ms; 0 is no proxy at all.
const DELAYS_MS: [u64; 2] = [0, 5];

/// Levels/s through the iopin's link to the echo at `port`, with and
/// without a spool, direct and delayed, medians of `runs`; syncs per second.
pub fn run(port: u16, runs: usize) {
    println!();
    println!(
        "spool mode: an iopin streams {SEQUENCE} levels a tick over one link (default window), levels/s, medians of {runs}"
    );
    println!(
        "{:<22} {:>14} {:>14} {:>8} {:>12} {:>14}",
        "", "in memory", "--spool", "ratio", "syncs/s", "levels/sync"
    );
    let mut direct_ratio = f64::NAN;
    for delay in DELAYS_MS {
        let through = if delay == 0 {
            port
        } else {
            crate::link_mode::proxy(port, Duration::from_millis(delay))
        };
        let url = format!("ws://127.0.0.1:{through}/pin");
        let memory: Vec<f64> = (0..runs).map(|_| measure(&url, None).0).collect();
        let spooled: Vec<(f64, f64)> = (0..runs)
            .map(|run| measure(&url, Some(folder(delay, run))))
            .collect();
        let memory = crate::median(memory);
        let syncs = crate::median(spooled.iter().map(|(_, syncs)| *syncs).collect());
        let spooled = crate::median(spooled.into_iter().map(|(rate, _)| rate).collect());
        let ratio = spooled / memory;
        if delay == 0 {
            direct_ratio = ratio;
        }
        let name = if delay == 0 {
            "direct".to_owned()
        } else {
            format!("{delay} ms each way")
        };
        println!(
            "{name:<22} {memory:>14.0} {spooled:>14.0} {ratio:>7.2}× {syncs:>12.0} {:>14.0}",
            spooled / syncs
        );
    }
    println!(
        "  with a spool, direct: {direct_ratio:.2}× the in-memory rate (bar 0.50×): {}",
        if direct_ratio >= 0.5 {
            "met"
        } else {
            "NOT met"
        }
    );
}

/// A fresh spool folder for one measurement.
fn folder(delay: u64, run: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "circuit-bench-spool-{}-{delay}-{run}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Levels/s from the first tick sent to the last acknowledged, through an
/// iopin whose link goes to `url` (spooled in `spool`, if given), and the
/// spool's syncs per second meanwhile.
fn measure(url: &str, spool: Option<PathBuf>) -> (f64, f64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let measured = runtime.block_on(async {
        let sequence = SEQUENCE.to_string();
        let mut args = vec![
            "-s",
            "127.0.0.1",
            "-p",
            "0",
            "-q",
            "--sequence",
            &sequence,
            "--buzzer",
            url,
        ];
        let dir = spool.as_ref().map(|dir| dir.display().to_string());
        if let Some(dir) = &dir {
            args.extend(["--spool", dir]);
        }
        let (iopin, options) =
            circuit_runtime::app::parse::<IoPin, _, _>(args).expect("the iopin's flags");
        let server = Server::start(iopin, &options)
            .await
            .expect("the iopin starts");
        let ticks = Link::new(&format!(
            "ws://127.0.0.1:{}/tick",
            server.local_addr().port()
        ))
        .expect("a ws:// URL");
        ticks.request("0").await.expect("the iopin answers");
        let syncs = circuit_runtime::__private::spool_syncs();
        let started = Instant::now();
        for tick in 1..=TICKS {
            ticks.send(tick).await;
        }
        ticks.flush().await;
        let elapsed = started.elapsed().as_secs_f64();
        let syncs = circuit_runtime::__private::spool_syncs() - syncs;
        assert_eq!(ticks.report().delivered, TICKS as u64 + 1);
        ticks.close().await;
        server.stop().await;
        ((TICKS * SEQUENCE) as f64 / elapsed, syncs as f64 / elapsed)
    });
    if let Some(dir) = spool {
        let _ = std::fs::remove_dir_all(dir);
    }
    measured
}
