//! Running one checked scenario in this process: its circuit started as
//! `up` starts it (in-process wires, simulated time unless `--realtime`),
//! its `[[send]]`s fed to the servers' wires at their times, its
//! expectations told of every value of the signals they name (the
//! recorder's tap), every log line (a tee of the log) and every
//! acknowledgement; ended at its timeout, or once every expectation has
//! happened (and none is a `never`). The recorder and the log are the
//! process's, so a process runs one scenario: several files run in
//! processes of their own (`command`).

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant as WallClock};

use tokio::time::Instant;

use crate::app::circuit::run::{self, Driver, Policy};
use crate::app::kind::Kind;
use crate::app::replay::feed;
use crate::app::scenario::file::{seconds, Scenario, What};
use crate::app::scenario::watch::Watcher;
use crate::base::clock;
use crate::base::error::{Error, Result};
use crate::base::features::{require, Feature};
use crate::base::options::{Options, TlsFiles};
use crate::base::shutdown::Shutdown;
use crate::observe::inputs::Input;
use crate::observe::log;
use crate::observe::trace::Trace;

/// How a window's ends stretch on real time, where a change comes a little
/// after the time it was meant for.
const REALTIME_SLACK: Duration = Duration::from_millis(50);

/// How a scenario went.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Outcome {
    /// Its name.
    pub(crate) name: String,
    /// Its file, as given.
    pub(crate) file: String,
    /// The simulated (or, with `--realtime`, real) time it ran.
    pub(crate) simulated: Duration,
    /// The wall time it took.
    pub(crate) wall: Duration,
    /// What failed, each `FILE:LINE:COLUMN: what`; none when it passed.
    pub(crate) failures: Vec<String>,
}

impl Outcome {
    /// Whether it passed.
    pub(crate) fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// Its result line, then one indented line per failure.
    pub(crate) fn lines(&self) -> String {
        let mut lines = format!(
            "{:<6} {} ({} simulated, {:.3}s wall)",
            if self.passed() { "ok" } else { "FAILED" },
            self.name,
            seconds(self.simulated),
            self.wall.as_secs_f64()
        );
        for failure in &self.failures {
            lines.push_str("\n  ");
            lines.push_str(failure);
        }
        lines
    }
}

/// The watcher, shared with the tap, the tee and the feeds; its time zero.
struct Shared {
    /// The checks.
    watcher: Mutex<Option<Watcher>>,
    /// The run's start, once it started; what comes before is at zero.
    start: OnceLock<Instant>,
    /// Told when every expectation has happened (and none is a `never`).
    settled: tokio::sync::Notify,
}

impl Shared {
    /// The watcher, while the run goes.
    fn watcher(&self) -> MutexGuard<'_, Option<Watcher>> {
        self.watcher
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Tells the watcher (while the run goes) of what happened, by `tell`,
    /// at the time since the run started; wakes the driver once it is settled.
    fn tell(&self, tell: impl FnOnce(&mut Watcher, Duration)) {
        let at = self.now();
        let mut watcher = self.watcher();
        if let Some(watcher) = watcher.as_mut() {
            tell(watcher, at);
            if watcher.settled() {
                self.settled.notify_one();
            }
        }
    }

    /// The time since the run started.
    fn now(&self) -> Duration {
        self.start
            .get()
            .map_or(Duration::ZERO, |start| start.elapsed())
    }
}

/// Runs `scenario`, alone in this process, on simulated time unless
/// `realtime`; its sketches' lines are printed only when `verbose`.
///
/// # Errors
/// [`Error::Setup`] when the build lacks the `sim` feature (without
/// `--realtime`), an invalid `RUST_LOG`, or the runtime cannot start.
pub(crate) fn run_one(
    scenario: Scenario,
    kinds: &[Kind],
    realtime: bool,
    verbose: bool,
) -> Result<Outcome> {
    let wall = WallClock::now();
    if !realtime {
        require(Feature::Sim, "`test` without --realtime (simulated time)")
            .map_err(Error::Setup)?;
        clock::simulate();
    }
    let slack = if realtime {
        REALTIME_SLACK
    } else {
        Duration::ZERO
    };
    let watcher = Watcher::new(scenario.checks.clone(), slack);
    let signals = watcher.signals();
    let shared = Arc::new(Shared {
        watcher: Mutex::new(Some(watcher)),
        start: OnceLock::new(),
        settled: tokio::sync::Notify::new(),
    });
    let teed = Arc::clone(&shared);
    // Without a `log` check, and unless printed, the per-message lines need no formatting.
    let reads_lines = scenario
        .checks
        .iter()
        .any(|check| matches!(check.what, What::Log(_)));
    let _log = log::init_teed(
        verbose,
        !verbose && !reads_lines,
        Box::new(move |line| teed.tell(|watcher, at| watcher.line(line, at))),
    )?;
    let tapped = Arc::clone(&shared);
    Trace::install_counting()
        .tap(
            signals,
            Box::new(move |sketch, name, value| {
                let signal = format!("{sketch}.{name}");
                tapped.tell(|watcher, at| watcher.signal(&signal, value, at));
            }),
        )
        .map_err(|why| Error::Setup(format!("a process runs one scenario: {why}")))?;
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_all();
    #[cfg(feature = "sim")]
    builder.start_paused(clock::simulated());
    let runtime = builder.build()?;
    let driver = driver(&scenario, Arc::clone(&shared));
    let circuit = &scenario.circuit;
    let ran = runtime.block_on(log::scoped("test", async {
        let _ = shared.start.set(Instant::now());
        let policy = Policy {
            every: Vec::new(),
            tls: TlsFiles::default(),
            sockets: false,
            seed: Some(scenario.seed),
            quiet: false,
            replay: None,
            stop_timeout: Options::STOP_TIMEOUT,
            gather: false,
            driver: Some(driver),
        };
        let ran = run::run(circuit, kinds, policy, Shutdown::new()).await;
        (ran, shared.now())
    }));
    drop(runtime);
    let (ran, end) = ran;
    let watcher = shared.watcher().take();
    let mut failures: Vec<String> = Vec::new();
    if let Err(err) = ran {
        failures.push(format!(
            "{}: the circuit failed: {err}",
            scenario.path.display()
        ));
    }
    if let Some(watcher) = watcher {
        for (span, failure) in watcher.verdict(end) {
            let place = match span {
                Some(span) => scenario.place(&span),
                None => scenario.path.display().to_string(),
            };
            failures.push(format!("{place}: {failure}"));
        }
    }
    Ok(Outcome {
        name: scenario.name.clone(),
        file: scenario.path.display().to_string(),
        simulated: end,
        wall: wall.elapsed(),
        failures,
    })
}

/// What drives the run: every `[[send]]` fed at its times, acknowledgements
/// told to the watcher; the end at the timeout, or once the watcher is settled.
fn driver(scenario: &Scenario, shared: Arc<Shared>) -> Driver {
    let sends = scenario.sends.clone();
    let timeout = scenario.timeout;
    Box::new(move |wires| {
        Box::pin(async move {
            let start = shared.start.get().copied().unwrap_or_else(Instant::now);
            let feeding = sends.into_iter().map(|send| {
                let shared = Arc::clone(&shared);
                let wire = wires.get(&send.sketch).cloned().unwrap_or_default();
                async move {
                    let inputs: Vec<Input> = send
                        .messages
                        .iter()
                        .enumerate()
                        .map(|(k, text)| Input {
                            at: u64::try_from((send.at + send.every * k as u32).as_nanos())
                                .unwrap_or(u64::MAX),
                            channel: send.path.clone(),
                            text: text.clone(),
                        })
                        .collect();
                    let sketch = send.sketch.clone();
                    let fed = feed(&wire, inputs, start, |input, ack| {
                        shared.tell(|watcher, at| watcher.ack(&sketch, &input.text, ack, at));
                    })
                    .await;
                    if let Err(err) = fed {
                        shared.tell(|watcher, at| {
                            watcher.broke(
                                send.span.clone(),
                                format!(
                                    "this [[send]] to {}{} failed at {}: {err}",
                                    send.sketch,
                                    send.path,
                                    seconds(at)
                                ),
                            );
                        });
                    }
                }
            });
            let sending = async {
                futures_util::future::join_all(feeding).await;
                std::future::pending::<()>().await;
            };
            let settled = async {
                // Settled before the first change (nothing expected): end at once.
                if !shared.watcher().as_ref().is_none_or(Watcher::settled) {
                    shared.settled.notified().await;
                }
            };
            tokio::select! {
                () = sending => {}
                () = settled => {}
                () = tokio::time::sleep_until(start + timeout) => {}
            }
        })
    })
}
