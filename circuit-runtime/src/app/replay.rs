//! `SKETCH --replay REC.vcd`: one server sketch driven by what it received in
//! a recording (its `SKETCH.in` lane), at the recorded times — simulated by
//! default, `--realtime` to wait them out — with no other sketch and no
//! socket, its links sending nowhere (what they are given goes on their
//! lanes, `SKETCH.LINK.out`); `--check` compares the signals and link lanes
//! it records with the recording's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use clap::ArgMatches;

use crate::app::command::from_matches;
use crate::app::flags::replay::Replaying;
use crate::app::process::run_until_interrupted;
use crate::base::clock;
use crate::base::error::{Error, Result};
use crate::base::features::{require, Feature};
use crate::base::sketch::{Runs, Sketch};
use crate::net::send::link::keep_inside;
use crate::net::send::outbound::configure;
use crate::observe::inputs::{self, Changes, LANE};
use crate::observe::outputs;
use crate::observe::recording::Recording;
use crate::observe::trace::Trace;

/// How many differences `--check` lists at most.
const SHOWN: usize = 10;

/// Replays sketch `S` from the recording `file`.
///
/// # Errors
/// [`Error::Setup`] (exit 2) for a recording that cannot be read or holds no
/// inputs of the sketch; [`Error::Mismatch`] (exit 1) when `--check` finds
/// the replay's signals differ from the recording's; [`Error::Record`] when
/// the replay's own `--vcd` file cannot be written.
pub(crate) fn run<S: Sketch>(replaying: Replaying, matches: &mut ArgMatches) -> Result<()> {
    let Replaying {
        file,
        realtime,
        check,
    } = replaying;
    let recorded = inputs::read(&file).map_err(Error::Setup)?;
    let (sketch, options) = from_matches::<S>(matches);
    let name = options.named.clone().unwrap_or_else(|| S::NAME.into());
    let fed: Vec<(Duration, String, String)> = inputs::inputs_of(&recorded, &name)
        .into_iter()
        .map(|input| (Duration::from_nanos(input.at), input.channel, input.text))
        .collect();
    if fed.is_empty() {
        return Err(Error::Setup(format!(
            "{} holds no inputs of {name} (no {name}.{LANE} lane): record a run with --vcd that {name} was part of",
            file.display()
        )));
    }
    if !realtime {
        require(Feature::Sim, "--replay without --realtime (simulated time)")
            .map_err(Error::Setup)?;
        clock::simulate();
    }
    // A replay is a test of the sketch's logic: it must not switch a real fan.
    keep_inside();
    run_until_interrupted(
        Arc::clone(&name),
        options.quiet,
        options.stop_timeout,
        |_shutdown| async move {
            let recording = Recording::start(options.vcd.clone(), false)?;
            let trace = Trace::install(true);
            // As a run starts them: named after their settings, their lanes declared.
            configure(&sketch, &options, None)?;
            let count = fed.len();
            let replayed = <S::Role as Runs<S>>::replay(sketch, fed).await;
            // Written even when the replay failed: it shows how far it got.
            if let Some(recording) = recording {
                recording.finish(None)?;
            }
            replayed?;
            tracing::info!("replayed {count} messages from {}", file.display());
            if !check {
                return Ok(());
            }
            check_against(&recorded, &trace, &[&name])
        },
    )
}

/// Compares what `trace` recorded of the sketches `names` with the recording;
/// says how much matched, or fails with the first differences.
///
/// # Errors
/// [`Error::Mismatch`] listing the first differences.
pub(crate) fn check_against(recorded: &Changes, trace: &Trace, names: &[&str]) -> Result<()> {
    let mut replayed = Changes::new();
    for change in trace.kept() {
        replayed
            .entry(change.signal())
            .or_default()
            .push((change.at, inputs::as_recorded(&change.value)));
    }
    let mut total = Compared::default();
    for name in names {
        let compared = compare(recorded, &replayed, name);
        total.differences.extend(compared.differences);
        total.matched += compared.matched;
        total.signals += compared.signals;
        total.unheld += compared.unheld;
    }
    let Compared {
        mut differences,
        matched,
        signals,
        unheld,
    } = total;
    if differences.is_empty() {
        let left_out = match unheld {
            0 => String::new(),
            n => format!(
                "; {n} link lane{} left out, which the recording does not hold (made before links were recorded, or with other links)",
                if n == 1 { "" } else { "s" }
            ),
        };
        tracing::info!(
            "the replay matches the recording: {matched} changes of {signals} signals{left_out}"
        );
        return Ok(());
    }
    let more = differences.len().saturating_sub(SHOWN);
    differences.truncate(SHOWN);
    if more > 0 {
        differences.push(format!("… and {more} more signals"));
    }
    Err(Error::Mismatch(differences.join("\n")))
}

/// What a comparison of a sketch's signals found.
#[derive(Debug, Default, PartialEq)]
struct Compared {
    /// The first difference of each signal that differs.
    differences: Vec<String>,
    /// The changes that matched.
    matched: usize,
    /// The signals compared.
    signals: usize,
    /// The link lanes of the replay that the recording does not hold, not compared.
    unheld: usize,
}

/// The first difference of each signal of `name` (its inputs aside) between
/// the recording and the replay, the changes that matched, and the signals
/// seen. A link lane the recording does not hold is left out: a recording
/// made before links were recorded still checks the signals.
fn compare(recorded: &Changes, replayed: &Changes, name: &str) -> Compared {
    let ours = |changes: &Changes| -> BTreeMap<String, Vec<(u64, String)>> {
        changes
            .iter()
            .filter(|(signal, _)| {
                signal
                    .strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|short| short != LANE)
            })
            .map(|(signal, values)| (signal.clone(), values.clone()))
            .collect()
    };
    let (expected, got) = (ours(recorded), ours(replayed));
    let mut signals: Vec<&String> = expected.keys().chain(got.keys()).collect();
    signals.sort();
    signals.dedup();
    let before = signals.len();
    signals.retain(|signal| {
        let lane = signal.get(name.len() + 1..).is_some_and(outputs::is_lane);
        !lane || expected.contains_key(*signal)
    });
    let unheld = before - signals.len();
    let mut differences = Vec::new();
    let mut matched = 0;
    for signal in &signals {
        let none = Vec::new();
        let (want, have) = (
            expected.get(*signal).unwrap_or(&none),
            got.get(*signal).unwrap_or(&none),
        );
        let first = (0..want.len().max(have.len()))
            .find(|&at| want.get(at).map(|(_, v)| v) != have.get(at).map(|(_, v)| v));
        match first {
            None => matched += want.len(),
            Some(at) => {
                let when = want.get(at).or(have.get(at)).map_or(0, |(ns, _)| *ns);
                let shown = |change: Option<&(u64, String)>| {
                    change.map_or("nothing".to_owned(), |(_, value)| value.clone())
                };
                differences.push(format!(
                    "{signal} at {:.6}s (change #{}): expected {}, got {}",
                    when as f64 / 1e9,
                    at + 1,
                    shown(want.get(at)),
                    shown(have.get(at))
                ));
            }
        }
    }
    Compared {
        differences,
        matched,
        signals: signals.len(),
        unheld,
    }
}

/// Feeds `inputs` to the server `wire` of this process (its in-memory name)
/// at their times from `start`, one connection per path, as the peers it had
/// in the recording did; tells `acked` of each acknowledgement (the input,
/// and the text of its acknowledgement) as it comes; returns how many it
/// acknowledged.
///
/// # Errors
/// [`Error::Lost`] when the server goes away before acknowledging one.
pub(crate) async fn feed(
    wire: &str,
    inputs: Vec<inputs::Input>,
    start: tokio::time::Instant,
    mut acked_each: impl FnMut(&inputs::Input, &str),
) -> Result<u64> {
    use futures_util::SinkExt;
    let mut sockets = BTreeMap::new();
    let mut acked = 0;
    for input in inputs {
        idle_until(&mut sockets, start + Duration::from_nanos(input.at)).await;
        let url = format!(
            "{}{wire}{}",
            crate::net::wire::memory::SCHEME,
            input.channel
        );
        let socket = match sockets.entry(input.channel.clone()) {
            std::collections::btree_map::Entry::Occupied(socket) => socket.into_mut(),
            std::collections::btree_map::Entry::Vacant(place) => {
                let mut dialer = crate::net::find::address::Dialer::new(
                    crate::net::find::address::Address::Url(url.clone()),
                    Duration::from_secs(1),
                );
                let socket = dialer.dial(None).await.map_err(|err| Error::Unreachable {
                    url: url.clone(),
                    seconds: 0.0,
                    reason: err.to_string(),
                })?;
                place.insert(socket)
            }
        };
        let lost = |reason: String| Error::Lost {
            url: url.clone(),
            message: input.text.clone(),
            reason,
        };
        socket
            .send(tokio_tungstenite::tungstenite::Message::text(
                input.text.clone(),
            ))
            .await
            .map_err(|err| lost(err.to_string()))?;
        let ack = crate::net::wire::socket::read_ack(socket)
            .await
            .map_err(lost)?;
        acked_each(&input, &ack);
        acked += 1;
    }
    for (_, mut socket) in sockets {
        crate::net::wire::socket::close_politely(
            &mut socket,
            tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Normal,
            "",
        )
        .await;
    }
    Ok(acked)
}

/// Waits until `until`, reading the open connections meanwhile, as any
/// peer does: a server's pings are answered (a gap of an hour between two
/// inputs would otherwise end the connection as dead); one the server
/// closes is dropped, and opened again for the next input on its path.
async fn idle_until(
    sockets: &mut BTreeMap<String, crate::net::wire::socket::Socket>,
    until: tokio::time::Instant,
) {
    use futures_util::StreamExt;
    let deadline = tokio::time::sleep_until(until);
    tokio::pin!(deadline);
    loop {
        if sockets.is_empty() {
            deadline.await;
            return;
        }
        let paths: Vec<String> = sockets.keys().cloned().collect();
        let reads = futures_util::future::select_all(
            sockets.values_mut().map(|socket| Box::pin(socket.next())),
        );
        tokio::select! {
            () = &mut deadline => return,
            (read, at, _) = reads => {
                let open = matches!(
                    read,
                    Some(Ok(message)) if !message.is_close()
                );
                if !open {
                    sockets.remove(&paths[at]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recording or a replay of `name`, from (signal, values) pairs.
    fn changes(of: &[(&str, &[&str])]) -> Changes {
        of.iter()
            .map(|(signal, values)| {
                let values = values.iter().enumerate();
                let values = values.map(|(at, value)| (at as u64, (*value).to_owned()));
                ((*signal).to_owned(), values.collect())
            })
            .collect()
    }

    #[test]
    fn a_link_lane_is_compared_where_the_recording_holds_it() {
        let replayed = changes(&[
            ("pin.level", &["1", "0"]),
            ("pin.buzzer.0.out", &["1", "0"]),
        ]);
        let same = compare(&replayed, &replayed, "pin");
        assert_eq!((same.matched, same.signals, same.unheld), (4, 2, 0));
        assert!(same.differences.is_empty());
        let other = changes(&[
            ("pin.level", &["1", "0"]),
            ("pin.buzzer.0.out", &["1", "1"]),
        ]);
        let found = compare(&other, &replayed, "pin").differences;
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("pin.buzzer.0.out at "), "{found:?}");
        assert!(found[0].ends_with("expected 1, got 0"), "{found:?}");
        // Declared and never used in the recording: a lane the replay used differs.
        let silent = changes(&[("pin.level", &["1", "0"]), ("pin.buzzer.0.out", &[])]);
        let found = compare(&silent, &replayed, "pin").differences;
        assert!(found[0].ends_with("expected nothing, got 1"), "{found:?}");
    }

    #[test]
    fn a_recording_without_link_lanes_still_checks_the_signals() {
        let replayed = changes(&[
            ("pin.level", &["1", "0"]),
            ("pin.buzzer.0.out", &["1", "0"]),
        ]);
        let old = changes(&[("pin.level", &["1", "0"]), ("pin.in", &["/%20x"])]);
        let compared = compare(&old, &replayed, "pin");
        assert!(compared.differences.is_empty(), "{compared:?}");
        assert_eq!(
            (compared.matched, compared.signals, compared.unheld),
            (2, 1, 1)
        );
        let changed = changes(&[("pin.level", &["1", "1"])]);
        assert_eq!(compare(&changed, &replayed, "pin").differences.len(), 1);
    }
}
