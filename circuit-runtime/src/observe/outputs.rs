//! What a sketch's links were given to send, kept in its recording as a lane
//! per link (`thermostat.fan.out`, one event per message), so that a replay
//! can compare what the sketch sends without anything being sent.
//!
//! A link's lane is named after its setting: `fan.out` for `fan: Link` or
//! `fan: Option<Link>`, `buzzer.0.out`, `buzzer.1.out`, … for the links of
//! `buzzer: Vec<Link>`, in the order given. A lane is declared when its link
//! starts, so that a recording says it kept the lane even when nothing went
//! on it; a recording made before links had lanes has none, and a replay's
//! check leaves them out.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::observe::inputs::escape;
use crate::observe::log;
use crate::observe::trace::Trace;
use crate::observe::value::Value;

/// The last part of the name of a lane that holds what a link sent.
pub(crate) const OUT: &str = "out";

/// The lane of the link called `link` (a setting's name, with the link's
/// place for a `Vec`: `buzzer.0`): `buzzer.0.out`. Lane names live as long
/// as the process, as signal names do: each distinct one is kept once.
pub(crate) fn lane(link: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let name = format!("{link}.{OUT}");
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    match names.get(name.as_str()) {
        Some(known) => known,
        None => {
            // A sketch has a handful of links: this leaks a few short names, once.
            let kept: &'static str = Box::leak(name.into_boxed_str());
            names.insert(kept);
            kept
        }
    }
}

/// Whether `short`, a signal's name within its sketch, is a link's lane.
pub(crate) fn is_lane(short: &str) -> bool {
    short
        .strip_suffix(OUT)
        .is_some_and(|link| link.len() > 1 && link.ends_with('.'))
}

/// Declares `lane` for the running sketch, when a recording keeps changes.
pub(crate) fn declare(lane: &'static str) {
    if let Some(trace) = Trace::installed().filter(|trace| trace.keeps_changes()) {
        trace.declare(log::current(), lane, Value::Text("".into()));
    }
}

/// Notes that the running sketch gave `text` to the link whose lane is
/// `lane`, when a recording keeps changes (one atomic load otherwise).
pub(crate) fn sent(lane: &'static str, text: &str) {
    if let Some(trace) = Trace::installed().filter(|trace| trace.keeps_changes()) {
        trace.record_event(log::current(), lane, Value::Text(escape(text).into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lane_is_named_after_its_link_and_kept_once() {
        let fan = lane("fan");
        assert_eq!(fan, "fan.out");
        assert!(std::ptr::eq(fan, lane("fan")), "the same name, kept once");
        assert_eq!(lane("buzzer.1"), "buzzer.1.out");
        assert!(is_lane("fan.out") && is_lane("buzzer.1.out"));
        assert!(!is_lane("out") && !is_lane("in") && !is_lane("layout"));
    }
}
