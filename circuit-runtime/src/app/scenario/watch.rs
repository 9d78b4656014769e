//! A scenario's expectations, decided as the run goes: told of each value
//! of the signals they name, each log line and each acknowledgement, with
//! its simulated time; nothing is kept but what a verdict needs (a count,
//! a signal's last value, the closest line), so a month of ticks costs no memory.

use std::collections::HashMap;
use std::time::Duration;

use crate::app::scenario::file::{seconds, Check, Does, What};
use crate::observe::value::Value;

/// How a check stands.
#[derive(Clone, Debug, PartialEq)]
enum Stand {
    /// Not decided yet: the count so far in its window.
    Open(u64),
    /// It happened, at this time, as this says (for a `never`, the failure).
    Happened(Duration, String),
}

/// A signal's last value, and since when it held.
#[derive(Clone, Debug)]
struct Last {
    /// The value.
    value: Value,
    /// Since when.
    since: Duration,
}

/// The watcher of a scenario's checks.
pub(crate) struct Watcher {
    /// The checks, with how each stands.
    checks: Vec<(Check, Stand)>,
    /// The last value of each signal a check names.
    last: HashMap<String, Last>,
    /// The last value of its signal that each open signal check saw by the
    /// end of its window, by its index: what it says when it fails.
    seen: HashMap<usize, Last>,
    /// The line closest to each open log or ack check, by its index: how
    /// close (0 to 1), when, and the line.
    closest: HashMap<usize, (f64, Duration, String)>,
    /// The first line or acknowledgement that would have done for each open
    /// log or ack check, had it come in time, by its index: when, and what.
    late: HashMap<usize, (Duration, String)>,
    /// What went wrong with the run itself (a send lost), in order: the
    /// place of what it was doing, and what.
    broken: Vec<(std::ops::Range<usize>, String)>,
    /// The slack of a window's ends: none on simulated time, where times are exact.
    slack: Duration,
}

impl Watcher {
    /// Watches `checks`; a window's ends stretch by `slack` (for a run in real time).
    pub(crate) fn new(checks: Vec<Check>, slack: Duration) -> Self {
        Watcher {
            checks: checks
                .into_iter()
                .map(|check| (check, Stand::Open(0)))
                .collect(),
            last: HashMap::new(),
            seen: HashMap::new(),
            closest: HashMap::new(),
            late: HashMap::new(),
            broken: Vec::new(),
            slack,
        }
    }

    /// The signals the checks name, for the recorder's tap.
    pub(crate) fn signals(&self) -> Vec<String> {
        let mut signals: Vec<String> = self
            .checks
            .iter()
            .filter_map(|(check, _)| match &check.what {
                What::Signal { signal, .. } => Some(signal.clone()),
                _ => None,
            })
            .collect();
        signals.sort();
        signals.dedup();
        signals
    }

    /// Whether every `[[expect]]` has happened and there is no `[[never]]`:
    /// the run need not go on.
    pub(crate) fn settled(&self) -> bool {
        !self.checks.is_empty()
            && self
                .checks
                .iter()
                .all(|(check, stand)| !check.never && matches!(stand, Stand::Happened(..)))
    }

    /// Whether time `at` is in `check`'s window.
    fn inside(&self, check: &Check, at: Duration) -> bool {
        at + self.slack >= check.window.from && at <= check.window.until + self.slack
    }

    /// Signal `signal` took `value` at `at`.
    pub(crate) fn signal(&mut self, signal: &str, value: &Value, at: Duration) {
        let before = self.last.get(signal).cloned();
        for index in 0..self.checks.len() {
            let (check, stand) = &self.checks[index];
            let What::Signal {
                signal: named,
                does,
            } = &check.what
            else {
                continue;
            };
            let Stand::Open(count) = *stand else {
                continue;
            };
            if named != signal {
                continue;
            }
            if at <= check.window.until + self.slack {
                let last = Last {
                    value: value.clone(),
                    since: at,
                };
                self.seen.insert(index, last);
            }
            let was = before.as_ref().map(|last| &last.value);
            let happened = match does {
                Does::Value(wanted) => {
                    // Held since the last change, through part of the window?
                    let held = before.as_ref().filter(|last| {
                        same(&last.value, wanted)
                            && last.since <= check.window.until + self.slack
                            && at + self.slack >= check.window.from
                    });
                    if let Some(last) = held {
                        let when = last.since.max(check.window.from);
                        Some((when, format!("{signal} held {wanted} at {}", seconds(when))))
                    } else if same(value, wanted) && self.inside(check, at) {
                        Some((at, format!("{signal} became {wanted} at {}", seconds(at))))
                    } else {
                        None
                    }
                }
                counted => {
                    let counts = match counted {
                        Does::Rises(_) => !was.is_some_and(Value::is_high) && value.is_high(),
                        Does::Falls(_) => was.is_some_and(Value::is_high) && !value.is_high(),
                        _ => match was {
                            Some(was) => was != value,
                            None => !matches!(value, Value::Bit(false)),
                        },
                    };
                    if counts && self.inside(check, at) {
                        let count = count + 1;
                        let (wanted, verb) = match counted {
                            Does::Rises(n) => (*n, "rose"),
                            Does::Falls(n) => (*n, "fell"),
                            Does::Changes(n) => (*n, "changed"),
                            Does::Value(_) => (1, "held"),
                        };
                        if count >= wanted {
                            Some((
                                at,
                                format!("{signal} {verb} {} at {}", times(count), seconds(at)),
                            ))
                        } else {
                            self.checks[index].1 = Stand::Open(count);
                            None
                        }
                    } else {
                        None
                    }
                }
            };
            if let Some((when, what)) = happened {
                self.checks[index].1 = Stand::Happened(when, what);
            }
        }
        self.last.insert(
            signal.to_owned(),
            Last {
                value: value.clone(),
                since: at,
            },
        );
    }

    /// A sketch logged `line` at `at`.
    pub(crate) fn line(&mut self, line: &str, at: Duration) {
        for index in 0..self.checks.len() {
            let (check, stand) = &self.checks[index];
            let What::Log(pattern) = &check.what else {
                continue;
            };
            if !matches!(stand, Stand::Open(_)) {
                continue;
            }
            if !self.inside(check, at) {
                let too_late = !check.never && at > check.window.until + self.slack;
                if too_late && !self.late.contains_key(&index) && pattern.matches(line) {
                    self.late.insert(index, (at, line.to_owned()));
                }
                continue;
            }
            if pattern.matches(line) {
                let said = format!("logged at {}: {line}", seconds(at));
                self.checks[index].1 = Stand::Happened(at, said);
            } else if !check.never {
                let closeness = strsim::normalized_levenshtein(pattern.text(), line);
                let closer = self
                    .closest
                    .get(&index)
                    .is_none_or(|(best, _, _)| closeness > *best);
                if closer {
                    self.closest.insert(index, (closeness, at, line.to_owned()));
                }
            }
        }
    }

    /// Sketch `sketch` acknowledged `message` with `ack` at `at`.
    pub(crate) fn ack(&mut self, sketch: &str, message: &str, ack: &str, at: Duration) {
        for index in 0..self.checks.len() {
            let (check, stand) = &self.checks[index];
            let What::Ack { text, from } = &check.what else {
                continue;
            };
            if !matches!(stand, Stand::Open(_))
                || from.as_deref().is_some_and(|from| from != sketch)
            {
                continue;
            }
            let seen = format!(
                "{sketch} acknowledged {message:?} with {ack:?} at {}",
                seconds(at)
            );
            if !self.inside(check, at) {
                let too_late = !check.never && at > check.window.until + self.slack;
                if too_late && !self.late.contains_key(&index) && ack == text {
                    self.late.insert(index, (at, seen));
                }
                continue;
            }
            if ack == text {
                self.checks[index].1 = Stand::Happened(at, seen);
            } else if !check.never {
                let closeness = strsim::normalized_levenshtein(text, ack);
                let closer = self
                    .closest
                    .get(&index)
                    .is_none_or(|(best, _, _)| closeness > *best);
                if closer {
                    self.closest.insert(index, (closeness, at, seen));
                }
            }
        }
    }

    /// Something went wrong with the run itself while doing what is
    /// written at `span`, as `what` says: the scenario fails.
    pub(crate) fn broke(&mut self, span: std::ops::Range<usize>, what: String) {
        self.broken.push((span, what));
    }

    /// The failures, once the run ended at `end`: each with the place of its
    /// check (a byte range of the file) and what went wrong; none when it passed.
    pub(crate) fn verdict(
        mut self,
        end: Duration,
    ) -> Vec<(Option<std::ops::Range<usize>>, String)> {
        // A value held until the end was held through what is left of the window.
        let last = std::mem::take(&mut self.last);
        for (check, stand) in &mut self.checks {
            if let (
                What::Signal {
                    signal,
                    does: Does::Value(wanted),
                },
                Stand::Open(_),
            ) = (&check.what, &*stand)
            {
                if let Some(held) = last.get(signal).filter(|held| {
                    same(&held.value, wanted)
                        && held.since <= check.window.until + self.slack
                        && end + self.slack >= check.window.from
                }) {
                    let when = held.since.max(check.window.from);
                    *stand = Stand::Happened(
                        when,
                        format!("{signal} held {wanted} at {}", seconds(when)),
                    );
                }
            }
        }
        let mut failures: Vec<(Option<std::ops::Range<usize>>, String)> = self
            .broken
            .into_iter()
            .map(|(span, what)| (Some(span), what))
            .collect();
        for (index, (check, stand)) in self.checks.iter().enumerate() {
            let failure = match (check.never, stand) {
                (true, Stand::Happened(_, what)) => {
                    format!("never {}, but {what}", expected(check))
                }
                (false, Stand::Open(count)) => {
                    let when = check.window.until.min(end);
                    let ended = if end < check.window.until {
                        format!(" (the run ended at {})", seconds(end))
                    } else {
                        String::new()
                    };
                    let seen = match &check.what {
                        What::Signal { signal, does } => {
                            let last = match self.seen.get(&index) {
                                Some(held) => format!(
                                    "its last value was {} (since {})",
                                    show(&held.value),
                                    seconds(held.since)
                                ),
                                None if last.contains_key(signal) => {
                                    "it had no value yet by then".to_owned()
                                }
                                None => "it was never recorded (a typo in its name?)".to_owned(),
                            };
                            match does {
                                Does::Value(_) => last,
                                Does::Rises(_) => {
                                    format!("it rose {} in the window; {last}", times(*count))
                                }
                                Does::Falls(_) => {
                                    format!("it fell {} in the window; {last}", times(*count))
                                }
                                Does::Changes(_) => {
                                    format!("it changed {} in the window; {last}", times(*count))
                                }
                            }
                        }
                        What::Log(_) | What::Ack { .. } if self.late.contains_key(&index) => {
                            let (at, seen) = &self.late[&index];
                            format!("it came too late, at {}: {seen}", seconds(*at))
                        }
                        What::Log(_) => match self.closest.get(&index) {
                            Some((_, at, line)) => {
                                format!("the closest line, at {}: {line}", seconds(*at))
                            }
                            None => "no line was logged in the window".to_owned(),
                        },
                        What::Ack { .. } => match self.closest.get(&index) {
                            Some((_, _, seen)) => format!("the closest: {seen}"),
                            None => "no acknowledgement came in the window".to_owned(),
                        },
                    };
                    format!(
                        "expected {} {}{ended}; at {}: {seen}",
                        expected(check),
                        check.window.describe(),
                        seconds(when)
                    )
                }
                _ => continue,
            };
            failures.push((Some(check.span.clone()), failure));
        }
        failures
    }
}

/// What `check` waits for, in words: "buzzer.buzz to rise 2 times".
fn expected(check: &Check) -> String {
    let to = if check.never { "" } else { "to " };
    let s = if check.never { "s" } else { "" };
    match &check.what {
        What::Signal { signal, does } => match does {
            Does::Rises(n) => format!("{signal} {to}rise{s} {}", times(*n)),
            Does::Falls(n) => format!("{signal} {to}fall{s} {}", times(*n)),
            Does::Changes(n) => format!("{signal} {to}change{s} {}", times(*n)),
            Does::Value(value) => format!("{signal} {to}hold{s} {value}"),
        },
        What::Ack { text, from } => {
            let from = from
                .as_ref()
                .map_or(String::new(), |from| format!(" from {from}"));
            format!("an acknowledgement {text:?}{from}")
        }
        What::Log(pattern) => format!("a line with {:?}", pattern.text()),
    }
}

/// "1 time", "2 times".
fn times(n: u64) -> String {
    if n == 1 {
        "1 time".to_owned()
    } else {
        format!("{n} times")
    }
}

/// A value as a scenario writes it.
fn show(value: &Value) -> String {
    match value {
        Value::Bit(bit) => u8::from(*bit).to_string(),
        Value::Unsigned(number) => number.to_string(),
        Value::Signed(number) => number.to_string(),
        Value::Real(number) => number.to_string(),
        Value::Text(text) => format!("{text:?}"),
    }
}

/// Whether `value` is the one a scenario wrote as `wanted`: a bit as 0/1 or
/// false/true, a number by its value, text as written.
fn same(value: &Value, wanted: &str) -> bool {
    let number = wanted.parse::<f64>().ok();
    match value {
        Value::Bit(bit) => match wanted {
            "true" | "1" | "high" => *bit,
            "false" | "0" | "low" => !*bit,
            _ => false,
        },
        Value::Unsigned(n) => number == Some(*n as f64),
        Value::Signed(n) => number == Some(*n as f64),
        Value::Real(n) => number == Some(*n),
        Value::Text(text) => **text == *wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::scenario::file::{Pattern, Window, Written};

    /// A check of `what` in window [from, until] seconds.
    fn check(what: What, never: bool, from: u64, until: u64) -> Check {
        Check {
            span: 0..1,
            never,
            what,
            window: Window {
                from: Duration::from_secs(from),
                until: Duration::from_secs(until),
                written: if from == 0 {
                    Written::By
                } else {
                    Written::Within
                },
            },
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn rises(n: u64) -> What {
        What::Signal {
            signal: "b.buzz".to_owned(),
            does: Does::Rises(n),
        }
    }

    #[test]
    fn rises_count_inside_the_window_only() {
        let watched = |rises_seen: &[(u64, bool)]| {
            let mut watcher = Watcher::new(vec![check(rises(2), false, 2, 5)], Duration::ZERO);
            for (at, bit) in rises_seen {
                watcher.signal("b.buzz", &Value::Bit(*bit), secs(*at));
            }
            watcher
        };
        // The rise at 1 s is before the window: one rise in it.
        let once = watched(&[(1, true), (2, false), (3, true), (6, false)]);
        assert!(!once.settled());
        let failures = once.verdict(secs(10));
        assert_eq!(failures.len(), 1);
        assert_eq!(
            failures[0].1,
            "expected b.buzz to rise 2 times within 2.000s–5.000s; at 5.000s: it rose 1 time in the window; its last value was 1 (since 3.000s)"
        );
        let twice = watched(&[(1, true), (2, false), (3, true), (4, false), (5, true)]);
        assert!(twice.settled());
        assert!(twice.verdict(secs(10)).is_empty());
    }

    #[test]
    fn a_value_held_from_before_the_window_counts_and_a_never_fails_when_it_happens() {
        let held = What::Signal {
            signal: "fan.spinning".to_owned(),
            does: Does::Value("true".to_owned()),
        };
        let mut watcher = Watcher::new(
            vec![check(held.clone(), false, 5, 5), check(held, true, 7, 9)],
            Duration::ZERO,
        );
        watcher.signal("fan.spinning", &Value::Bit(true), secs(3));
        let failures = watcher.verdict(secs(10));
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(
            failures[0].1,
            "never fan.spinning holds true, but fan.spinning held true at 7.000s"
        );
    }

    #[test]
    fn a_missing_line_names_the_closest_and_a_never_line_fails() {
        let mut watcher = Watcher::new(
            vec![
                check(
                    What::Log(Pattern::Substring("buzz #2".to_owned())),
                    false,
                    0,
                    5,
                ),
                check(
                    What::Log(Pattern::Substring("error".to_owned())),
                    true,
                    0,
                    10,
                ),
            ],
            Duration::ZERO,
        );
        watcher.line("[ circuit ] circuit demo: 3 sketches up", secs(0));
        watcher.line("[ buzzer ] buzz #1: bzzz", secs(1));
        watcher.line("[ buzzer ] buzz #3: bzzz", secs(6));
        watcher.line("[ pin ] error: gone", secs(8));
        let failures = watcher.verdict(secs(10));
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert_eq!(
            failures[0].1,
            "expected a line with \"buzz #2\" by 5.000s; at 5.000s: the closest line, at 1.000s: [ buzzer ] buzz #1: bzzz"
        );
        assert_eq!(
            failures[1].1,
            "never a line with \"error\", but logged at 8.000s: [ pin ] error: gone"
        );
    }

    #[test]
    fn a_line_after_the_window_is_said_to_be_too_late() {
        let line = What::Log(Pattern::Substring("fan on".to_owned()));
        let mut watcher = Watcher::new(vec![check(line, false, 0, 5)], Duration::ZERO);
        watcher.line("[ t ] 24.0C in /outside: fan off", secs(4));
        watcher.line("[ t ] 31.0C in /outside: fan on", secs(6));
        watcher.line("[ t ] 32.0C in /outside: fan on", secs(7));
        let failures = watcher.verdict(secs(10));
        assert_eq!(
            failures[0].1,
            "expected a line with \"fan on\" by 5.000s; at 5.000s: it came too late, at 6.000s: [ t ] 31.0C in /outside: fan on"
        );
    }

    #[test]
    fn an_ack_is_matched_by_its_text_and_its_sketch() {
        let ack = What::Ack {
            text: "[1, 0]".to_owned(),
            from: Some("pin".to_owned()),
        };
        let mut watcher = Watcher::new(vec![check(ack, false, 0, 5)], Duration::ZERO);
        watcher.ack("other", "t", "[1, 0]", secs(1));
        watcher.ack("pin", "t", "[1, 1]", secs(2));
        assert!(!watcher.settled());
        let failures = watcher.verdict(secs(5));
        assert!(
            failures[0]
                .1
                .ends_with("the closest: pin acknowledged \"t\" with \"[1, 1]\" at 2.000s"),
            "{failures:?}"
        );
    }
}
