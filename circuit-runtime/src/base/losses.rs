//! What a run lost: the messages that make it fail (exit 1) once it has
//! said how it went (its verdict, [`Losses::verdict`], is `error`'s, which
//! holds the error it makes).

use std::fmt;

/// What a run lost, which makes it fail (exit 1) once it has said how it
/// went: messages its links gave up on, dropped or still held when it ended,
/// and ticks its timers sent that were never acknowledged. A message a peer
/// answered `error: …` is not among them: the peer got it and said no, and
/// that answer is the peer's to give.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Losses {
    /// Given up on after `--link-attempts` connections ended on them (or a
    /// peer that refused the link).
    pub dead_lettered: u64,
    /// Dropped: a link's queue was full while its peer was down.
    pub dropped: u64,
    /// Still held by a link when the run ended: not delivered within `--stop-timeout`.
    pub held: u64,
    /// Ticks sent and never acknowledged: the run stopped first.
    pub unacknowledged: u64,
}

impl Losses {
    /// Every message lost, of every sort.
    pub fn total(&self) -> u64 {
        self.dead_lettered + self.dropped + self.held + self.unacknowledged
    }

    /// Counts `other`'s losses too.
    pub fn add(&mut self, other: Losses) {
        self.dead_lettered += other.dead_lettered;
        self.dropped += other.dropped;
        self.held += other.held;
        self.unacknowledged += other.unacknowledged;
    }
}

impl fmt::Display for Losses {
    /// "9 messages lost (2 dead-lettered, 7 not delivered by the end)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total();
        let ticks = if self.unacknowledged == 1 {
            "tick not acknowledged"
        } else {
            "ticks not acknowledged"
        };
        let parts: Vec<String> = [
            (self.dead_lettered, "dead-lettered"),
            (self.dropped, "dropped (queue full)"),
            (self.held, "not delivered by the end"),
            (self.unacknowledged, ticks),
        ]
        .iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, what)| format!("{count} {what}"))
        .collect();
        write!(
            f,
            "{total} message{} lost ({})",
            if total == 1 { "" } else { "s" },
            parts.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::sketch::LinkReport;

    #[test]
    fn losses_say_how_many_of_each_sort_and_fail_the_run() {
        assert!(Losses::default().verdict().is_ok());
        let refused = LinkReport {
            delivered: 3,
            refused: 2,
            ..LinkReport::default()
        };
        assert_eq!(refused.lost(), Losses::default(), "a refusal is no loss");
        let mut lost = LinkReport {
            dead_lettered: 2,
            overflowed: 1,
            held: 7,
            ..LinkReport::default()
        }
        .lost();
        lost.add(Losses {
            unacknowledged: 1,
            ..Losses::default()
        });
        assert_eq!(
            lost.to_string(),
            "11 messages lost (2 dead-lettered, 1 dropped (queue full), 7 not delivered by the end, 1 tick not acknowledged)"
        );
        let failed = lost.verdict().unwrap_err();
        assert_eq!(failed.exit_code(), 1);
    }
}
