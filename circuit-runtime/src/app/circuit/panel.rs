//! The analyzer page of a circuit: what its panel shows.

use crate::app::circuit::plan::Plan;
use crate::observe::analyzer::{Counting, Panel, Tally};

/// The analyzer page of a circuit: a row per signal as it appears, and the
/// summary's counts (or, without a summary, a count per signal).
pub(crate) fn panel(circuit: &Plan) -> Panel {
    // The summary's counts are the page's tallies.
    let tallies: Vec<Tally> = circuit.counts.clone();
    Panel {
        buzz: tallies
            .iter()
            .find(|tally| tally.count == Counting::Rises)
            .map(|tally| tally.signal.clone()),
        tallies,
        ..Panel::derived(format!("circuit {}", circuit.name))
    }
}
