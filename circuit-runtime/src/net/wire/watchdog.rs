//! Telling when a peer has been silent for a span (a keepalive interval, an
//! acknowledgement timeout) without reading the clock for every frame: each
//! frame only marks the peer heard, and a timer that fires a few times per
//! span counts the checks that found it silent.

use std::time::Duration;

/// Checks per span: a silence is noticed within a quarter of the span after
/// it is over.
const CHECKS: u32 = 4;

/// Counts the checks that found a peer silent.
#[derive(Debug, Default)]
pub(crate) struct Watchdog {
    /// Whether the peer was heard since the last check.
    heard: bool,
    /// Checks in a row that found it silent.
    silent: u32,
}

impl Watchdog {
    /// The time between two checks of a span.
    pub(crate) fn every(span: Duration) -> Duration {
        (span / CHECKS).max(Duration::from_millis(1))
    }

    /// The peer showed it is there: a frame, a connection, a first message out.
    pub(crate) fn heard(&mut self) {
        self.heard = true;
    }

    /// One check, when the timer fires: whether the peer has now been silent
    /// for a whole span (after which the count starts again).
    pub(crate) fn silent_for_a_span(&mut self) -> bool {
        if std::mem::take(&mut self.heard) {
            self.silent = 0;
            return false;
        }
        self.silent += 1;
        if self.silent < CHECKS {
            return false;
        }
        self.silent = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_of_silent_checks_is_a_silence_and_a_frame_starts_the_count_again() {
        let mut watchdog = Watchdog::default();
        let checks = |watchdog: &mut Watchdog, n| {
            (0..n)
                .map(|_| watchdog.silent_for_a_span())
                .collect::<Vec<_>>()
        };
        assert_eq!(checks(&mut watchdog, 4), [false, false, false, true]);
        watchdog.silent_for_a_span();
        watchdog.heard();
        // The check that finds it heard, then four silent ones.
        assert_eq!(checks(&mut watchdog, 5), [false, false, false, false, true]);
        assert_eq!(
            Watchdog::every(Duration::from_secs(2)),
            Duration::from_millis(500)
        );
    }
}
