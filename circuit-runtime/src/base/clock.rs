//! The process's clock, real or simulated (`--sim`): whether it is simulated,
//! and where a simulated run stands.
//!
//! The clock itself is tokio's: under `--sim` the runtime starts paused and
//! jumps from timer to timer, so every sleep and timeout of the runtime runs on
//! simulated time without knowing it. What lives here is the switch, read by
//! the runtime's builder, and the time since a simulated run began, read by
//! log lines and the progress bar.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::time::Instant;

/// Whether this process runs on simulated time (`--sim`).
static SIMULATED: AtomicBool = AtomicBool::new(false);

/// Runs this process on simulated time: its runtime's clock starts paused and
/// jumps from timer to timer, and log lines carry the simulated time.
pub fn simulate() {
    SIMULATED.store(true, Ordering::Relaxed);
}

/// Whether this process runs on simulated time.
pub fn simulated() -> bool {
    SIMULATED.load(Ordering::Relaxed)
}

/// Time zero of a simulated run: the first time it was asked for.
fn sim_start() -> &'static Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now)
}

/// Under `--sim`, the simulated time since the run began.
pub fn simulated_time() -> Option<Duration> {
    simulated().then(|| Instant::now().saturating_duration_since(*sim_start()))
}
