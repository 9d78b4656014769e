//! One part of a circuit across hosts (`up FILE --host H`): when it ends,
//! its timers advertised so that other parts see them end, and what its
//! summary can count.
//!
//! The rule: a part ends when its own timers are done and every sketch
//! placed elsewhere that feeds it (links or sends to one of its sketches)
//! has ended, each learned from discovery: a server's goodbye when its part
//! stops (after its links delivered what they held), a timer's when it is
//! done. Since a server stops only with its part, which waits for its own
//! feeders, waiting for the direct feeders waits for every sketch upstream.
//! A feeder in a loop with the sketch it feeds cannot be waited out from
//! inside the loop: the part waits for what feeds the loop instead. A part
//! with neither timers nor feeders elsewhere serves until Ctrl-C.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use crate::app::circuit::command_sketch::CommandSketch;
use crate::app::circuit::plan::{Plan, PlannedSketch};
use crate::app::kind::{self, Kind};
use crate::base::error::Result;
use crate::base::sketch::{RunReport, Running};
use crate::net::find::discovery::Advert;
use crate::net::find::mdns::{self, Advertised};
use crate::net::find::presence::Elsewhere;
use crate::net::serve::signals_only::SignalsOnly;
use crate::observe::analyzer::Tally;

/// The sketches placed elsewhere that part `here` of `plan` waits for before
/// it ends: those that link or send to one of its sketches or, for a sketch
/// of it in a loop, to any sketch of that loop (the loop's own sketches left
/// out), in the order of the plan.
pub(crate) fn feeders<'a>(plan: &'a Plan, here: &str) -> Vec<&'a PlannedSketch> {
    let mut fed: BTreeSet<&str> = BTreeSet::new();
    for sketch in plan.sketches.iter().filter(|s| placed_here(s, here)) {
        let name = sketch.name.as_str();
        let downstream = reached_from(plan, name);
        // Its loop: itself and every sketch it reaches that reaches it back.
        let in_loop: BTreeSet<&str> = downstream
            .iter()
            .copied()
            .filter(|other| reached_from(plan, other).contains(name))
            .chain([name])
            .collect();
        for other in &plan.sketches {
            let feeds = other
                .targets()
                .iter()
                .any(|target| in_loop.contains(target));
            if feeds && !in_loop.contains(other.name.as_str()) {
                fed.insert(other.name.as_str());
            }
        }
    }
    plan.sketches
        .iter()
        .filter(|sketch| fed.contains(sketch.name.as_str()) && !placed_here(sketch, here))
        .collect()
}

/// Whether `sketch` runs in part `here`.
fn placed_here(sketch: &PlannedSketch, here: &str) -> bool {
    sketch.host.as_deref() == Some(here)
}

/// Every sketch of `plan` that `from` links or sends to, directly or through others.
fn reached_from<'a>(plan: &'a Plan, from: &str) -> BTreeSet<&'a str> {
    let mut reached = BTreeSet::new();
    let mut next = vec![from.to_owned()];
    while let Some(name) = next.pop() {
        let Some(sketch) = plan.sketches.iter().find(|s| s.name == name) else {
            continue;
        };
        for target in sketch.targets() {
            if reached.insert(target) {
                next.push(target.to_owned());
            }
        }
    }
    reached
}

/// For a part of a circuit across hosts, the sketches elsewhere that it
/// waits for, followed on discovery from now on (before any sketch starts,
/// so that none comes and goes unseen); `None` when it waits for none, or
/// is not a part. Says what it waits for.
pub(crate) fn follow(plan: &Plan, kinds: &[Kind]) -> Option<Elsewhere> {
    let here = plan.here.as_deref()?;
    // Both directories begin browsing now: a server's or a timer's record
    // waits until its directory has listened a while, and so both wait at once.
    let _ = (mdns::watch(), mdns::watch_timers());
    let feeders = feeders(plan, here);
    if feeders.is_empty() {
        return None;
    }
    let followed: Vec<(String, bool)> = feeders
        .iter()
        .map(|sketch| (sketch.name.clone(), !kinds[sketch.kind].serves))
        .collect();
    let named: Vec<String> = feeders.iter().map(|sketch| placed(sketch)).collect();
    match Elsewhere::follow(&plan.name, &followed) {
        Ok(elsewhere) => {
            tracing::info!(
                "this part ends once {} {} ended (as DNS-SD tells)",
                named.join(", "),
                if named.len() == 1 { "has" } else { "have" }
            );
            Some(elsewhere)
        }
        Err(err) => {
            tracing::warn!(
                "cannot see {} end ({err}): this part ends with its own timers, or on Ctrl-C",
                named.join(", ")
            );
            None
        }
    }
}

/// `thermostat (on b)`.
fn placed(sketch: &PlannedSketch) -> String {
    match &sketch.host {
        Some(host) => format!("{} (on {host})", sketch.name),
        None => sketch.name.clone(),
    }
}

/// Advertises timer `name` of kind `kind` in circuit `circuit` while it
/// runs, so that the parts it feeds see it end, with the port of its
/// signal stream (`streaming`; port 0 for none); `None`, with a warning,
/// when it cannot be.
pub(crate) async fn advertise_timer(
    name: &str,
    kind: &Kind,
    circuit: &str,
    streaming: Option<&SignalsOnly>,
) -> Option<Advertised> {
    let address = streaming.map(SignalsOnly::local_addr);
    let advert = Advert {
        sketch: name.to_owned(),
        kind: kind.name.to_owned(),
        takes: kind.sends.map(|sends| sends.name()).unwrap_or_default(),
        circuit: Some(circuit.to_owned()),
        port: address.map_or(0, |address| address.port()),
        ip: address
            .map(|address| address.ip())
            .filter(|ip| !ip.is_unspecified()),
        auth: streaming.is_some_and(SignalsOnly::auth),
        tls: streaming.is_some_and(SignalsOnly::secure),
    };
    match mdns::advertise_timer(&advert).await {
        Ok(advertised) => Some(advertised),
        Err(err) => {
            tracing::warn!("{name} not advertised: {err}; the parts it feeds cannot see it end");
            None
        }
    }
}

/// Advertises command sketch `name` (`command`), a server listening on
/// `port` of every address, in circuit `circuit`, on its behalf (`kind=command`):
/// the program knows nothing of DNS-SD, yet other hosts find it by name.
/// `None`, with a warning, when it cannot be.
pub(crate) async fn advertise_command(
    name: &str,
    command: &CommandSketch,
    port: u16,
    circuit: &str,
) -> Option<Advertised> {
    let advert = Advert {
        sketch: name.to_owned(),
        kind: kind::COMMAND.to_owned(),
        takes: command
            .takes
            .map_or_else(|| "any".to_owned(), |takes| takes.name()),
        circuit: Some(circuit.to_owned()),
        port,
        ip: None,
        auth: false,
        tls: false,
    };
    match mdns::advertise(&advert).await {
        Ok(advertised) => {
            tracing::info!("advertised as {:?} on its behalf", advertised.instance());
            Some(advertised)
        }
        Err(err) => {
            tracing::warn!("{name} not advertised: {err}; other hosts cannot find it by name");
            None
        }
    }
}

/// A sketch of a part with its record (a timer's, or a command sketch's): withdrawn once the timer is done (or
/// stopped), after the timer closed its connection and its links delivered.
pub(crate) struct AdvertisedTimer {
    /// The timer.
    pub(crate) running: Box<dyn Running>,
    /// Its record, until withdrawn.
    pub(crate) advertised: Option<Advertised>,
    /// Its signal stream, for a recorder on another host: served until the
    /// timer is stopped (after it is done), so that the recorder drains it.
    pub(crate) streaming: Option<SignalsOnly>,
}

impl AdvertisedTimer {
    /// Says goodbye, once; a wait cut short says it again when stopped.
    async fn withdraw(&mut self) {
        if let Some(advertised) = &self.advertised {
            advertised.withdraw().await;
        }
        self.advertised = None;
    }
}

impl Running for AdvertisedTimer {
    fn done(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            self.running.done().await;
            self.withdraw().await;
        })
    }

    fn stop(self: Box<Self>) -> Pin<Box<dyn Future<Output = Result<RunReport>> + Send>> {
        Box::pin(async move {
            let AdvertisedTimer {
                running,
                advertised,
                streaming,
            } = *self;
            let report = running.stop().await;
            if let Some(advertised) = advertised {
                advertised.withdraw().await;
            }
            if let Some(streaming) = streaming {
                streaming.stop().await;
            }
            report
        })
    }
}

/// The host whose part counts `count`, when it is not this part: a signal is
/// tallied in the process of the sketch that records it.
pub(crate) fn counted_on<'a>(plan: &'a Plan, count: &Tally) -> Option<&'a str> {
    let here = plan.here.as_deref()?;
    let sketch = count.signal.split_once('.').map(|(sketch, _)| sketch)?;
    let host = plan
        .sketches
        .iter()
        .find(|planned| planned.name == sketch)?
        .host
        .as_deref()?;
    (host != here).then_some(host)
}

/// `counted on a: ticks sent, acks received; on c: buzzes`, for the counts
/// of `plan` whose sketches run elsewhere, each with the host whose part
/// counts it; `None` when there are none.
pub(crate) fn counted_elsewhere(plan: &Plan) -> Option<String> {
    let mut hosts: Vec<(&str, Vec<&str>)> = Vec::new();
    for count in &plan.counts {
        let Some(host) = counted_on(plan, count) else {
            continue;
        };
        match hosts.iter_mut().find(|(had, _)| *had == host) {
            Some((_, labels)) => labels.push(&count.label),
            None => hosts.push((host, vec![&count.label])),
        }
    }
    let parts: Vec<String> = hosts
        .iter()
        .map(|(host, labels)| format!("on {host}: {}", labels.join(", ")))
        .collect();
    (!parts.is_empty()).then(|| format!("counted {}", parts.join("; ")))
}

/// For a part with no timer of its own, which has no ticks to count: where
/// the circuit's timers tick instead; `None` for any other run.
pub(crate) fn no_timer_here(plan: &Plan, kinds: &[Kind]) -> Option<String> {
    let here = plan.here.as_deref()?;
    let timers: Vec<&PlannedSketch> = plan
        .sketches
        .iter()
        .filter(|sketch| !kinds[sketch.kind].serves)
        .collect();
    if timers.iter().any(|sketch| placed_here(sketch, here)) {
        return None;
    }
    let elsewhere: Vec<String> = timers.iter().map(|sketch| placed(sketch)).collect();
    Some(if elsewhere.is_empty() {
        format!("no timer on {here} (nor in the circuit)")
    } else {
        format!(
            "no timer on {here}; ticks are sent by {}",
            elsewhere.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::circuit::plan::{Given, Target};

    /// A sketch named `name` on `host` sending or linking to `target`.
    fn sketch(name: &str, host: &str, target: Option<&str>) -> PlannedSketch {
        PlannedSketch {
            name: name.into(),
            kind: 0,
            to: target.map(|target| {
                Given::Sketch(Target {
                    sketch: target.into(),
                    path: None,
                })
            }),
            given: Vec::new(),
            host: Some(host.into()),
            options: Vec::new(),
            command: None,
        }
    }

    fn plan(sketches: Vec<PlannedSketch>) -> Plan {
        Plan {
            name: "split".into(),
            about: None,
            sketches,
            counts: Vec::new(),
            published: None,
            here: None,
        }
    }

    fn names<'a>(sketches: &[&'a PlannedSketch]) -> Vec<&'a str> {
        sketches.iter().map(|sketch| sketch.name.as_str()).collect()
    }

    #[test]
    fn a_part_waits_for_the_sketches_elsewhere_that_feed_it() {
        // sensor (a) → thermostat (b) → fan (a)
        let greenhouse = plan(vec![
            sketch("sensor", "a", Some("thermostat")),
            sketch("thermostat", "b", Some("fan")),
            sketch("fan", "a", None),
        ]);
        assert_eq!(names(&feeders(&greenhouse, "a")), ["thermostat"]);
        assert_eq!(names(&feeders(&greenhouse, "b")), ["sensor"]);
        // clock (a) → iopin (b) → buzzer (c): only the direct feeder, whose
        // part waits for the clock in turn.
        let spread = plan(vec![
            sketch("clock", "a", Some("iopin")),
            sketch("iopin", "b", Some("buzzer")),
            sketch("buzzer", "c", None),
        ]);
        assert!(feeders(&spread, "a").is_empty());
        assert_eq!(names(&feeders(&spread, "b")), ["clock"]);
        assert_eq!(names(&feeders(&spread, "c")), ["iopin"]);
    }

    #[test]
    fn a_part_counts_its_own_signals_and_names_the_parts_that_count_the_others() {
        use crate::observe::analyzer::Counting;
        let mut spread = plan(vec![
            sketch("clock", "a", Some("iopin")),
            sketch("iopin", "b", Some("buzzer")),
            sketch("buzzer", "a", None),
        ]);
        let tally = |label: &str, signal: &str| Tally {
            label: label.into(),
            signal: signal.into(),
            count: Counting::Samples,
        };
        spread.counts = vec![
            tally("ticks sent", "clock.tick"),
            tally("bits drawn", "iopin.level"),
            tally("buzzes", "buzzer.buzz"),
        ];
        // On one host, everything is counted here.
        assert_eq!(counted_on(&spread, &spread.counts[0]), None);
        assert_eq!(counted_elsewhere(&spread), None);
        spread.here = Some("b".into());
        assert_eq!(counted_on(&spread, &spread.counts[0]), Some("a"));
        assert_eq!(counted_on(&spread, &spread.counts[1]), None);
        assert_eq!(
            counted_elsewhere(&spread).as_deref(),
            Some("counted on a: ticks sent, buzzes")
        );
    }

    #[test]
    fn a_loop_across_parts_waits_for_what_feeds_the_loop() {
        // clock (a) → ping (b) ⇄ pong (c): neither can wait for the other.
        let looped = plan(vec![
            sketch("clock", "a", Some("ping")),
            sketch("ping", "b", Some("pong")),
            sketch("pong", "c", Some("ping")),
        ]);
        assert_eq!(names(&feeders(&looped, "b")), ["clock"]);
        assert_eq!(names(&feeders(&looped, "c")), ["clock"]);
        assert!(feeders(&looped, "a").is_empty());
    }
}
