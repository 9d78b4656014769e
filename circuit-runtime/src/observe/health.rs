//! What `/healthz` answers: whether the process is starting, serving, or
//! stopping (or has finished its run), one atomic for the whole process.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// Where the process is in its run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Health {
    /// Its sketches are being started.
    Starting,
    /// Every sketch it runs is up.
    Serving,
    /// Asked to stop (Ctrl-C, SIGTERM), or its run ended: delivering what is left.
    Stopping,
    /// Its run is over; what it served stays readable.
    Finished,
}

/// The process's state, as a [`Health`]'s index.
static STATE: AtomicU8 = AtomicU8::new(0);
/// Whether a circuit says when it serves (once all its sketches are up),
/// rather than each sketch as it starts.
static WHOLE: AtomicBool = AtomicBool::new(false);

/// The process's state now.
pub(crate) fn now() -> Health {
    match STATE.load(Ordering::Relaxed) {
        0 => Health::Starting,
        1 => Health::Serving,
        2 => Health::Stopping,
        _ => Health::Finished,
    }
}

/// Moves to `to`, never back (a stop is not undone by a late start).
fn advance(to: Health) {
    STATE.fetch_max(to as u8, Ordering::Relaxed);
}

/// A circuit runs here: it says itself when it serves ([`serving`]).
pub(crate) fn whole_circuit() {
    WHOLE.store(true, Ordering::Relaxed);
}

/// A sketch is up: the process serves, unless a circuit waits for the others.
pub(crate) fn sketch_up() {
    if !WHOLE.load(Ordering::Relaxed) {
        advance(Health::Serving);
    }
}

/// Every sketch of the process is up.
pub(crate) fn serving() {
    advance(Health::Serving);
}

/// The process was asked to stop, or its run is ending.
pub(crate) fn stopping() {
    advance(Health::Stopping);
}

/// The run is over.
pub(crate) fn finished() {
    advance(Health::Finished);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_moves_forward_only() {
        serving();
        assert_ne!(now(), Health::Starting);
        stopping();
        // A sketch that comes up late does not make a stopping process healthy.
        sketch_up();
        serving();
        assert_eq!(now(), Health::Stopping);
        finished();
        stopping();
        assert_eq!(now(), Health::Finished);
    }
}
