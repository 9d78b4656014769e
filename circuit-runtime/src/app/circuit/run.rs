//! Running a checked circuit: its sketches started (servers bound first),
//! placed on loopback, in-process wires or across hosts (a part, see
//! `part`); a recording fed to the sketches nothing else feeds; stopped in
//! an order that lets links deliver; and its summary line.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::app::circuit::check::did_you_mean;
use crate::app::circuit::command_sketch;
use crate::app::circuit::options::{self, Every};
use crate::app::circuit::part::{self, AdvertisedTimer};
use crate::app::circuit::placement::{Placement, Ports, HOST};
use crate::app::circuit::plan::{Given, Plan, PlannedSketch, Target};
use crate::app::kind::Kind;
use crate::app::replay::{check_against, feed};
use crate::base::error::{Error, Result};
use crate::base::losses::Losses;
use crate::base::options::TlsFiles;
use crate::base::settings::{Setting, Values};
use crate::base::shutdown::Shutdown;
use crate::base::sketch::{RunReport, Running};
use crate::net::find::address::NAME_PREFIX;
use crate::net::find::gather::Gathering;
use crate::net::serve::signals_only::SignalsOnly;
use crate::net::wire::memory;
use crate::observe::analyzer::{Counting, Tally};
use crate::observe::inputs;
use crate::observe::trace::Trace;
use crate::observe::{health, log};

/// Runs `circuit`: starts its sketches, feeds them the recording to replay
/// (if any), waits for its timers (or the recording's end) and, for a part
/// across hosts, for the sketches elsewhere that feed it to end, or for
/// `shutdown` when it has none of these; stops everything, checks against
/// the recording when asked; returns the summary line (which says what was
/// lost, if anything was) and what was lost.
pub(crate) async fn run(
    circuit: &Plan,
    kinds: &[Kind],
    policy: Policy,
    mut shutdown: Shutdown,
) -> Result<(String, Losses)> {
    let Policy {
        every,
        tls,
        sockets,
        seed,
        quiet,
        replay,
        stop_timeout,
        gather,
        driver,
    } = policy;
    // Across hosts, each part keeps its recent changes from the start, for
    // a recorder elsewhere that follows its signal streams later.
    if circuit.here.is_some() {
        Trace::install(false);
    }
    // A check compares every change, so every change is kept.
    let kept = replay
        .as_ref()
        .filter(|replay| replay.check)
        .map(|_| Trace::install(true));
    // Counted from the start, so that the summary misses no change.
    let counting = Trace::install_counting();
    // What a run before this one in the same process counted is not this run's.
    let counted_before: Vec<u64> = circuit
        .counts
        .iter()
        .map(|count| counted(&counting, count))
        .collect();
    let recorded_before: Vec<u64> = circuit
        .counts
        .iter()
        .map(|count| counting.totals(&count.signal).samples)
        .collect();
    let mut placement = Placement::of(circuit, every, tls, sockets);
    placement.stop_timeout = stop_timeout;
    // A command sketch that fails for good stops the circuit.
    placement.stop = shutdown.clone();
    // Followed before anything starts, so that no feeder comes and goes unseen.
    let mut feeders = part::follow(circuit, kinds);
    // Recorded here: so are the sketches elsewhere, found as they start.
    let gathering = gather.then(|| gathering(circuit)).flatten();
    let mut running = start_all(circuit, kinds, &placement, seed, quiet).await?;
    health::serving();
    let timers = running
        .iter()
        .filter(|(sketch, _)| !kinds[sketch.kind].serves)
        .count();
    let on = circuit
        .here
        .as_ref()
        .map_or(String::new(), |host| format!(" on {host}"));
    tracing::info!(
        "circuit {}{on}: {} sketches up ({} serving, {timers} ticking)",
        circuit.name,
        running.len(),
        running.len() - timers,
    );
    if let Some(replay) = &replay {
        replay_into(circuit, kinds, &running, &placement, replay).await?;
    }
    if let Some(driver) = driver {
        // A scenario decides when its run ends, whatever the timers do.
        let wires = running
            .iter()
            .filter(|(sketch, _)| kinds[sketch.kind].serves && sketch.command.is_none())
            .map(|(sketch, _)| {
                let wire = format!("{}{}", sketch.name, placement.wires);
                (sketch.name.clone(), wire)
            })
            .collect();
        tokio::select! {
            () = driver(wires) => {}
            () = shutdown.wait() => {}
        }
    } else if timers == 0 && replay.is_none() && feeders.is_none() {
        shutdown.wait().await;
    } else {
        let waiting = async {
            // Each timer's end is said when it comes, not after the others'.
            let ticking = running
                .iter_mut()
                .filter(|(sketch, _)| !kinds[sketch.kind].serves)
                .map(|(_, handle)| handle.done());
            futures_util::future::join_all(ticking).await;
            if let Some(feeders) = &mut feeders {
                let waited = feeders.running().join(", ");
                if !waited.is_empty() {
                    tracing::info!("waiting for {waited} to end");
                }
                feeders.all_ended().await;
            }
        };
        tokio::select! {
            () = waiting => {}
            () = shutdown.wait() => {}
        }
    }
    health::stopping();
    if let Some(gathering) = gathering {
        gathering.finish().await;
    }
    let report = stop_all(running, kinds).await?;
    if let (Some(replay), Some(trace)) = (&replay, &kept) {
        let names: Vec<&str> = circuit
            .sketches
            .iter()
            .map(|sketch| sketch.name.as_str())
            .collect();
        check_against(&replay.changes, trace, &names)?;
    }
    unrecorded(circuit, &counting, &recorded_before);
    let mut line = summary(circuit, kinds, &report, &counting, &counted_before);
    if report.lost.total() > 0 {
        line.push_str(&format!("; {}", report.lost));
    }
    Ok((line, report.lost))
}

/// Follows the sketches of `circuit` placed on other hosts (servers and
/// timers) into this host's recording; none when this machine cannot do
/// multicast DNS (said).
fn gathering(circuit: &Plan) -> Option<Gathering> {
    let here = circuit.here.as_ref()?;
    let trace = Trace::installed().filter(|trace| trace.keeps_changes())?;
    let elsewhere: Vec<(String, String)> = circuit
        .sketches
        .iter()
        .filter(|sketch| sketch.host.as_ref() != Some(here))
        // A program outside serves no stream (a timer serves its own).
        .filter(|sketch| sketch.command.is_none())
        .map(|sketch| {
            let host = sketch.host.clone().unwrap_or_else(|| "?".to_owned());
            (sketch.name.clone(), host)
        })
        .collect();
    if elsewhere.is_empty() {
        return None;
    }
    match Gathering::start(&circuit.name, &elsewhere, Arc::clone(trace)) {
        Ok(gathering) => Some(gathering),
        Err(why) => {
            tracing::warn!("the sketches on other hosts are not recorded here: {why}");
            None
        }
    }
}

/// Warns of each count of the summary whose signal no sketch recorded during
/// the run (since `before`): a typo, most likely, that would count 0 for
/// ever. Signals of sketches placed on other hosts are not this part's to see.
fn unrecorded(circuit: &Plan, counting: &Trace, before: &[u64]) {
    let here = |signal: &str| {
        let sketch = signal.split_once('.').map_or(signal, |(sketch, _)| sketch);
        circuit.sketches.iter().any(|planned| {
            planned.name == sketch && (circuit.here.is_none() || planned.host == circuit.here)
        })
    };
    let never: Vec<&Tally> = circuit
        .counts
        .iter()
        .zip(before)
        .filter(|(count, before)| counting.totals(&count.signal).samples == **before)
        .map(|(count, _)| count)
        .filter(|count| here(&count.signal))
        .collect();
    if never.is_empty() {
        return;
    }
    let watch = counting.watch();
    let mut recorded: Vec<String> = watch.before.into_iter().map(|(name, _)| name).collect();
    recorded.extend(watch.recent.iter().map(|change| change.signal()));
    recorded.sort();
    recorded.dedup();
    let recorded: Vec<&str> = recorded.iter().map(String::as_str).collect();
    for count in never {
        let near = did_you_mean(&count.signal, &recorded, '"');
        tracing::warn!(
            "the summary's {:?} counts {}, which no sketch recorded during the run{}",
            count.label,
            count.signal,
            if near.is_empty() { ": a typo?" } else { &near },
        );
    }
}

/// Starts the sketches placed here: the servers first (the command sketches
/// last of them), each bound before any starts, so that every link and
/// timer knows its port; then the timers.
/// A sketch that does not start stops the ones that did.
async fn start_all<'a>(
    circuit: &'a Plan,
    kinds: &[Kind],
    placement: &Placement,
    seed: Option<u64>,
    quiet: bool,
) -> Result<Vec<(&'a PlannedSketch, Box<dyn Running>)>> {
    // Across hosts, only the sketches placed here; the others are found by name.
    let here: Vec<&PlannedSketch> = circuit
        .sketches
        .iter()
        .filter(|sketch| circuit.here.is_none() || sketch.host == circuit.here)
        .collect();
    let mut listeners = HashMap::new();
    let mut ports = Ports::default();
    for sketch in &here {
        if kinds[sketch.kind].serves {
            let listener = std::net::TcpListener::bind((placement.bind, 0))?;
            let name = sketch.name.as_str();
            ports.of.insert(name, listener.local_addr()?.port());
            if sketch.command.is_some() {
                // The program binds the port itself: it was picked free here.
                ports.by_socket.insert(name);
            } else {
                listeners.insert(name, listener);
            }
        }
    }
    let (mut servers, timers): (Vec<&PlannedSketch>, Vec<&PlannedSketch>) = here
        .into_iter()
        .partition(|sketch| kinds[sketch.kind].serves);
    // A command sketch may wait for sketches on other hosts to be found: the
    // servers of this process start before, since those hosts may need them.
    servers.sort_by_key(|sketch| sketch.command.is_some());
    let mut running: Vec<(&PlannedSketch, Box<dyn Running>)> = Vec::new();
    for sketch in servers.into_iter().chain(timers) {
        let kind = &kinds[sketch.kind];
        let listener = listeners.remove(sketch.name.as_str());
        match start(sketch, kind, &ports, listener, placement, seed, quiet).await {
            Ok(handle) => running.push((sketch, handle)),
            Err(err) => {
                // The sketch that did not start says what went wrong, not the others.
                let _ = stop_all(running, kinds).await;
                return Err(err);
            }
        }
    }
    Ok(running)
}

/// Feeds the running servers that nothing in the circuit feeds what they
/// received in the recording, over their in-process wires, at the recorded times.
async fn replay_into(
    circuit: &Plan,
    kinds: &[Kind],
    running: &[(&PlannedSketch, Box<dyn Running>)],
    placement: &Placement,
    replay: &Replay,
) -> Result<()> {
    let fed: Vec<(String, Vec<inputs::Input>)> = running
        .iter()
        .map(|(sketch, _)| *sketch)
        .filter(|sketch| kinds[sketch.kind].serves)
        .filter(|sketch| {
            !circuit
                .sketches
                .iter()
                .any(|other| other.targets().contains(&sketch.name.as_str()))
        })
        .map(|sketch| {
            let wire = format!("{}{}", sketch.name, placement.wires);
            (wire, inputs::inputs_of(&replay.changes, &sketch.name))
        })
        .filter(|(_, inputs)| !inputs.is_empty())
        .collect();
    tracing::info!(
        "replaying {} into {} from {}",
        fed.iter().map(|(_, inputs)| inputs.len()).sum::<usize>(),
        fed.iter()
            .map(|(wire, _)| wire.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        replay.file.display()
    );
    let start = tokio::time::Instant::now();
    let feeding = fed
        .into_iter()
        .map(move |(wire, inputs)| async move { feed(&wire, inputs, start, |_, _| {}).await });
    for fed in futures_util::future::join_all(feeding).await {
        fed?;
    }
    Ok(())
}

/// The summary line: the circuit's counts, as counted since `before`; or,
/// without counts, what its timers sent. A part across hosts counts what
/// its own sketches recorded, and names the parts that count the rest.
fn summary(
    circuit: &Plan,
    kinds: &[Kind],
    report: &RunReport,
    counting: &Trace,
    before: &[u64],
) -> String {
    if circuit.counts.is_empty() {
        return part::no_timer_here(circuit, kinds).unwrap_or_else(|| {
            format!("{} ticks sent, {} acknowledged", report.sent, report.acked)
        });
    }
    let counts: Vec<String> = circuit
        .counts
        .iter()
        .zip(before)
        .filter(|(count, _)| part::counted_on(circuit, count).is_none())
        .map(|(count, before)| format!("{} {}", counted(counting, count) - before, count.label))
        .collect();
    let here = (!counts.is_empty()).then(|| counts.join(", "));
    let parts: Vec<String> = here
        .into_iter()
        .chain(part::counted_elsewhere(circuit))
        .collect();
    parts.join("; ")
}

/// What `count` of a circuit's summary has counted so far in this process.
fn counted(trace: &Trace, count: &Tally) -> u64 {
    let totals = trace.totals(&count.signal);
    match count.count {
        Counting::Samples => totals.samples,
        Counting::Rises => totals.rises,
    }
}

/// How the sketches of a run are to run: the policy the command line sets.
pub(crate) struct Policy {
    /// The framework's options given for every sketch (`up --ack-timeout 3`),
    /// which a sketch's own (in its table) override.
    pub(crate) every: Every,
    /// Their certificate files.
    pub(crate) tls: TlsFiles,
    /// `--sockets`: wires of this process over loopback sockets.
    pub(crate) sockets: bool,
    /// `--seed`.
    pub(crate) seed: Option<u64>,
    /// `-q`.
    pub(crate) quiet: bool,
    /// `--replay REC.vcd`: the recording that feeds the sketches nothing in the file feeds.
    pub(crate) replay: Option<Replay>,
    /// `--stop-timeout`: how long a command sketch has between SIGTERM and SIGKILL.
    pub(crate) stop_timeout: Duration,
    /// Whether this run is recorded (`--vcd`, `--web`): across hosts, the
    /// sketches elsewhere are then followed into the recording.
    pub(crate) gather: bool,
    /// What drives a scenario's run (`test`), which then ends when it does.
    pub(crate) driver: Option<Driver>,
}

/// What drives a scenario's run: given the in-process wire of each server
/// started (by sketch name), a future that feeds them what the scenario
/// sends and ends when the run is to end (the timeout, or every
/// expectation decided).
pub(crate) type Driver = Box<
    dyn FnOnce(HashMap<String, String>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
>;

/// A recording to replay into a circuit.
pub(crate) struct Replay {
    /// Its file, for log lines.
    pub(crate) file: PathBuf,
    /// What it holds.
    pub(crate) changes: inputs::Changes,
    /// `--check`: compare every sketch's signals with it at the end.
    pub(crate) check: bool,
}

/// Builds one sketch from its planned values, its links pointed at the ports
/// of the sketches they name (or, for a sketch on another host, at its name),
/// and starts it.
async fn start(
    sketch: &PlannedSketch,
    kind: &Kind,
    ports: &Ports<'_>,
    listener: Option<std::net::TcpListener>,
    placement: &Placement,
    seed: Option<u64>,
    quiet: bool,
) -> Result<Box<dyn Running>> {
    if let Some(command) = &sketch.command {
        let around = placement.around(&ports.of);
        return command_sketch::start_in(&sketch.name, command, kind, &around).await;
    }
    // Over TLS a certificate is for a sketch's name: links find even the
    // sketches of this process by name, never by a loopback address.
    let none = Ports::default();
    let local = if placement.tls.cert.is_some() {
        &none
    } else {
        ports
    };
    let mut values = values_of(sketch, local, placement)?;
    if kind.seeded {
        values.set_seed(seed);
    }
    // The framework's options, as its command line would read them: those
    // given for every sketch, then its own; the rest at their defaults.
    let line = options::command_line(kind, &placement.every, &sketch.options);
    let mut options = (kind.options)(line).map_err(|err| {
        let why = err.to_string();
        let why = why.lines().next().unwrap_or_default();
        Error::Setup(format!("the options of {}: {why}", sketch.name))
    })?;
    // What the circuit decides, whatever a sketch alone would take.
    options.port = 0;
    options.token = None;
    options.vcd = None;
    options.socket = placement.bind.to_owned();
    options.quiet = quiet;
    // Shared by the sketch's log lines and signals.
    let name: Arc<str> = sketch.name.as_str().into();
    options.named = (*name != *kind.name).then(|| Arc::clone(&name));
    options.circuit = Some(Arc::clone(&placement.circuit));
    options.in_process = placement
        .in_process
        .then(|| format!("{name}{}", placement.wires).into());
    options.tls = placement.tls.clone();
    if placement.across_hosts {
        options.advertise = Some(true);
    }
    match &sketch.to {
        Some(Given::Sketch(target)) => match local.of.get(target.sketch.as_str()) {
            Some(_)
                if placement.in_process && !local.by_socket.contains(target.sketch.as_str()) =>
            {
                options.to = Some(format!(
                    "{}{}{}",
                    memory::SCHEME,
                    target.sketch,
                    placement.wires
                ));
            }
            Some(port) => {
                options.socket = HOST.to_owned();
                options.port = *port;
            }
            None => options.to = Some(target.sketch.clone()),
        },
        Some(Given::Text(address)) => options.to = Some(address.clone()),
        None => {}
    }
    // A timer of a part serves its signal stream, for a recorder on another
    // host, and says on discovery that it runs, until it is done.
    let timer_of_part = placement.across_hosts && !kind.serves;
    let streaming = if timer_of_part {
        let started = SignalsOnly::start(Arc::clone(&name), placement.bind, &options);
        match log::scoped(Arc::clone(&name), started).await {
            Ok(streaming) => Some(streaming),
            Err(err) => {
                tracing::warn!("{name}'s signals not served ({err}): recorded on this host only");
                None
            }
        }
    } else {
        None
    };
    let advertised = if timer_of_part {
        part::advertise_timer(&name, kind, &placement.circuit, streaming.as_ref()).await
    } else {
        None
    };
    let running = match log::scoped(name, (kind.start)(&mut values, options, listener)).await {
        Ok(running) => running,
        Err(err) => {
            if let Some(advertised) = &advertised {
                advertised.withdraw().await;
            }
            if let Some(streaming) = streaming {
                streaming.stop().await;
            }
            return Err(err);
        }
    };
    Ok(if advertised.is_some() || streaming.is_some() {
        Box::new(AdvertisedTimer {
            running,
            advertised,
            streaming,
        })
    } else {
        running
    })
}

/// The values of `sketch`'s settings, each link pointed at a sketch of
/// `local` or, elsewhere, named.
///
/// # Errors
/// A value its setting's parser refuses (never, once the file was checked).
fn values_of(sketch: &PlannedSketch, local: &Ports<'_>, placement: &Placement) -> Result<Values> {
    let mut values = Values::new();
    for (setting, given) in &sketch.given {
        for value in given {
            let text = match value {
                Given::Text(text) => text.clone(),
                Given::Sketch(target) => address_of(target, setting, local, placement),
            };
            // Checked when the file was read; a link's address is always valid.
            let parsed = (setting.parse)(&text).map_err(Error::Setup)?;
            values.insert(setting.id, parsed);
        }
    }
    Ok(values)
}

/// Where a link to a sketch of the circuit goes: `ws://127.0.0.1:PORT/PATH`
/// when the sketch runs in this process, else its name (`dns-sd:NAME/PATH`),
/// on the path written after its name, or else the path of the setting's
/// default URL, or `/`.
fn address_of(
    target: &Target,
    setting: &Setting,
    ports: &Ports<'_>,
    placement: &Placement,
) -> String {
    let path = target.path.clone().unwrap_or_else(|| {
        setting
            .default
            .and_then(|url| url.strip_prefix("ws://"))
            .and_then(|rest| rest.find('/').map(|at| rest[at..].to_owned()))
            .unwrap_or_else(|| "/".to_owned())
    });
    match ports.of.get(target.sketch.as_str()) {
        Some(_) if placement.in_process && !ports.by_socket.contains(target.sketch.as_str()) => {
            format!(
                "{}{}{}{path}",
                memory::SCHEME,
                target.sketch,
                placement.wires
            )
        }
        Some(port) => format!("ws://{HOST}:{port}{path}"),
        None => format!("{NAME_PREFIX}{}{path}", target.sketch),
    }
}

/// Stops every started sketch: timers first, then servers, those that link
/// to others before the ones they link to, so that links deliver into live
/// servers. Sums the timers' reports, and what every sketch lost; the first
/// error wins.
async fn stop_all(
    running: Vec<(&PlannedSketch, Box<dyn Running>)>,
    kinds: &[Kind],
) -> Result<RunReport> {
    let mut left = running;
    let mut total = RunReport::default();
    let mut first_error = None;
    while !left.is_empty() {
        // A sketch that no other running sketch links to (or sends to) goes next.
        let next = (0..left.len())
            .find(|&at| {
                let name = left[at].0.name.as_str();
                !left
                    .iter()
                    .any(|(other, _)| other.name != name && other.targets().contains(&name))
            })
            .unwrap_or(0);
        let (sketch, handle) = left.remove(next);
        let timer = !kinds[sketch.kind].serves;
        match handle.stop().await {
            Ok(report) => {
                if timer {
                    total.sent += report.sent;
                    total.acked += report.acked;
                }
                total.lost.add(report.lost);
            }
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(total),
    }
}
