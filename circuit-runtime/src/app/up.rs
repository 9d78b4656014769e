//! `up FILE`: every sketch of a circuit file in one process, wired by name
//! on loopback, until the circuit's timers are done (or Ctrl-C / SIGTERM when
//! it has none); then one line per sketch and a summary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::{value_parser, Arg, ArgMatches, Command};

use crate::app::circuit;
use crate::app::circuit_file::{self, Circuit, Count, Given, Planned, Target};
use crate::app::command::{
    apply_discovery, apply_tls, discovery_args, quiet_arg, seconds, seed_arg, setting_arg,
    tls_args, tls_files, vcd_arg, web_arg,
};
use crate::app::kind::Kind;
use crate::app::observed::observed;
use crate::app::process::run_until_interrupted;
use crate::app::replay::{check_against, feed};
use crate::base::clock;
use crate::base::error::{Error, Result};
use crate::base::options::{LinkOptions, Options, TlsFiles};
use crate::base::settings::{Setting, Values};
use crate::base::shutdown::Shutdown;
use crate::base::sketch::{RunReport, Running};
use crate::net::address::NAME_PREFIX;
use crate::net::memory;
use crate::observe::analyzer::{Counting, Panel, Tally};
use crate::observe::inputs;
use crate::observe::log;
use crate::observe::trace::Trace;

/// Every sketch of a circuit on one host listens on loopback only.
const HOST: &str = "127.0.0.1";

/// Sketches of a circuit across hosts listen on every address (and advertise).
const EVERY_ADDRESS: &str = "0.0.0.0";

/// The `up` subcommand of every program.
pub(crate) fn command() -> Command {
    Command::new("up")
        .about("Runs every sketch of a circuit file in one process, wired by name")
        .arg(
            Arg::new("file")
                .value_name("FILE")
                .required(true)
                .value_parser(value_parser!(PathBuf))
                .help("The circuit file (TOML): its sketches, their kinds, settings and links"),
        )
        .arg(
            Arg::new("ack-timeout")
                .long("ack-timeout")
                .value_name("SECONDS")
                .value_parser(seconds)
                .help("Every sketch here: drop a peer that leaves a message unacknowledged this long, and resend [default: 10]"),
        )
        .arg(
            Arg::new("resolve-timeout")
                .long("resolve-timeout")
                .value_name("SECONDS")
                .value_parser(seconds)
                .help("Every sketch here: how long a sketch's name may take to answer on the network [default: 5]"),
        )
        .args(discovery_args())
        .args(tls_args(true, true))
        .arg(
            Arg::new("replay")
                .long("replay")
                .value_name("REC.vcd")
                .value_parser(value_parser!(PathBuf))
                .conflicts_with("host")
                .help("Feed the sketches that nothing in the file feeds what they received in a recording (--vcd), at the recorded times"),
        )
        .arg(
            Arg::new("realtime")
                .long("realtime")
                .action(clap::ArgAction::SetTrue)
                .requires("replay")
                .help("With --replay, wait out the recorded times instead of simulating them"),
        )
        .arg(
            Arg::new("check")
                .long("check")
                .action(clap::ArgAction::SetTrue)
                .requires("replay")
                .help("With --replay, compare the signals of every sketch with the recording's; exit 1 with the first differences"),
        )
        .arg(
            Arg::new("host")
                .long("host")
                .value_name("HOST")
                .help("Start only the sketches placed on HOST (`host = \"…\"`); the others are found by name (DNS-SD)"),
        )
        .args(run_args())
}

/// The flags of every command that runs a circuit (`up`, a shipped file, a
/// circuit wired in code), which `run_circuit` reads.
fn run_args() -> [Arg; 6] {
    [
        quiet_arg(),
        seed_arg(),
        vcd_arg(),
        web_arg(),
        sockets_arg(),
        sim_arg(),
    ]
}

/// `--sim`: the circuit on a virtual clock.
fn sim_arg() -> Arg {
    Arg::new("sim")
        .long("sim")
        .action(clap::ArgAction::SetTrue)
        .help("Run on simulated time: timers and timeouts jump to the next deadline whenever every sketch waits (a day of ticks in seconds, the same run as in real time)")
}

/// `--sockets`: wires between sketches of one process over loopback sockets.
fn sockets_arg() -> Arg {
    Arg::new("sockets")
        .long("sockets")
        .action(clap::ArgAction::SetTrue)
        .help("Wire the sketches of this process over loopback sockets instead of in-memory pipes (same messages, same acknowledgements)")
}

/// Reads and checks the circuit file, then runs it.
///
/// # Errors
/// [`Error::Circuit`] (exit 2) for a file that cannot be read or has
/// mistakes, with nothing started; whatever a sketch fails with.
pub(crate) fn run(kinds: &[Kind], matches: &mut ArgMatches) -> Result<()> {
    let path: PathBuf = matches.remove_one("file").unwrap_or_default();
    let text = std::fs::read_to_string(&path)
        .map_err(|err| Error::Circuit(format!("cannot read {}: {err}", path.display())))?;
    let mut circuit = checked(&path, &text, kinds)?;
    let prefix = format!("circuit {}: ", circuit.name);
    if let Some(host) = matches.remove_one::<String>("host") {
        let mut hosts: Vec<&str> = circuit
            .sketches
            .iter()
            .filter_map(|sketch| sketch.host.as_deref())
            .collect();
        hosts.sort_unstable();
        hosts.dedup();
        if !hosts.contains(&host.as_str()) {
            return Err(Error::Circuit(format!(
                "no sketch of {} is placed on host {host:?}; {}",
                path.display(),
                if hosts.is_empty() {
                    "none has a `host = \"…\"`".to_owned()
                } else {
                    format!("its hosts are {}", hosts.join(", "))
                }
            )));
        }
        circuit.here = Some(host);
    } else if matches.get_one::<PathBuf>("tls-cert").is_some() {
        return Err(Error::Setup(
            "--tls-cert is for a circuit across hosts (`up FILE --host H`): on one host, its sketches talk inside the process".to_owned(),
        ));
    }
    run_circuit(circuit, kinds, "up", &prefix, matches)
}

/// A circuit file built into a program, run by a subcommand of its own whose
/// flags are the settings of one of its sketches (the `circuit` command of
/// `sketches` is `demo.toml`, with the clock's `-t` and `-d`).
#[derive(Clone, Copy)]
pub(crate) struct Shipped {
    /// The subcommand's name.
    pub(crate) name: &'static str,
    /// The file's text.
    pub(crate) text: &'static str,
    /// The sketch whose settings are flags of the subcommand.
    pub(crate) flags_of: &'static str,
}

impl Shipped {
    /// The subcommand: the flags of `up`, less the file, plus the settings of
    /// the sketch `flags_of` (given ones override the file's values).
    pub(crate) fn command(&self, kinds: &[Kind]) -> Command {
        let circuit = circuit_file::read(Path::new(self.name), self.text, kinds).ok();
        let about = circuit
            .as_ref()
            .and_then(|circuit| circuit.about.clone())
            .unwrap_or_else(|| format!("Runs the circuit {} in one process", self.name));
        let mut command = Command::new(self.name).about(about).args(run_args());
        let flagged = circuit
            .as_ref()
            .and_then(|circuit| circuit.sketches.iter().find(|s| s.name == self.flags_of));
        if let Some(sketch) = flagged {
            for setting in kinds[sketch.kind].settings {
                // The help shows the file's value, where it gives one.
                let in_file = sketch
                    .given
                    .iter()
                    .find(|(given, _)| given.id == setting.id);
                let shown = in_file.map(|(_, values)| {
                    let texts: Vec<&str> = values
                        .iter()
                        .map(|value| match value {
                            Given::Text(text) => text.as_str(),
                            Given::Sketch(target) => target.sketch.as_str(),
                        })
                        .collect();
                    texts.join(",")
                });
                command = command.arg(setting_arg(setting, shown.as_deref()));
            }
        }
        command
    }

    /// Runs the built-in file with the settings given on the command line.
    ///
    /// # Errors
    /// [`Error::Circuit`] when the built-in file has mistakes (a bug of the
    /// program); whatever a sketch fails with.
    pub(crate) fn run(&self, kinds: &[Kind], matches: &mut ArgMatches) -> Result<()> {
        let mut circuit = checked(Path::new(self.name), self.text, kinds)?;
        if let Some(sketch) = circuit
            .sketches
            .iter_mut()
            .find(|s| s.name == self.flags_of)
        {
            for setting in kinds[sketch.kind].settings {
                let given: Vec<Given> = if setting.switch {
                    if !matches.get_flag(setting.id) {
                        continue;
                    }
                    vec![Given::Text("true".to_owned())]
                } else {
                    match matches.get_raw(setting.id) {
                        Some(raw) => raw
                            .map(|text| Given::Text(text.to_string_lossy().into_owned()))
                            .collect(),
                        None => continue,
                    }
                };
                sketch.given.retain(|(had, _)| had.id != setting.id);
                sketch.given.push((setting, given));
            }
        }
        run_circuit(circuit, kinds, self.name, "", matches)
    }
}

/// The subcommand that runs a circuit wired in code.
pub(crate) fn wired_command(name: &'static str) -> Command {
    Command::new(name)
        .about("Runs a circuit wired in code, in one process")
        .args(discovery_args())
        .args(tls_args(true, true))
        .args(run_args())
}

/// Checks a circuit wired in code, then runs it.
///
/// # Errors
/// [`Error::Circuit`] (exit 2) listing every mistake of the wiring, with
/// nothing started; whatever a sketch fails with.
pub(crate) fn run_wired(
    circuit: circuit::Circuit,
    command: &'static str,
    matches: &mut ArgMatches,
) -> Result<()> {
    let (planned, kinds) = circuit.plan().map_err(|mistakes| {
        Error::Circuit(format!(
            "the circuit has {} mistake{}; nothing was started:\n{}",
            mistakes.len(),
            if mistakes.len() == 1 { "" } else { "s" },
            mistakes.join("\n")
        ))
    })?;
    let prefix = format!("circuit {}: ", planned.name);
    run_circuit(planned, &kinds, command, &prefix, matches)
}

/// Reads and checks a circuit file's text: the circuit, or every mistake at once.
fn checked(path: &Path, text: &str, kinds: &[Kind]) -> Result<Circuit> {
    circuit_file::read(path, text, kinds).map_err(|mistakes| {
        Error::Circuit(format!(
            "{} has {} mistake{}; nothing was started:\n{}",
            path.display(),
            mistakes.len(),
            if mistakes.len() == 1 { "" } else { "s" },
            circuit_file::render(path, text, &mistakes)
        ))
    })
}

/// Runs a checked circuit under command `command`, observed as the flags
/// say; its summary line starts with `prefix`.
fn run_circuit(
    circuit: Circuit,
    kinds: &[Kind],
    command: &'static str,
    prefix: &str,
    matches: &mut ArgMatches,
) -> Result<()> {
    apply_discovery(matches)?;
    let tls = tls_files(matches);
    apply_tls(&tls)?;
    let web_tls = tls.clone();
    let quiet = matches.get_flag("quiet");
    let flag = |id: &str| {
        matches
            .try_get_one::<bool>(id)
            .ok()
            .flatten()
            .copied()
            .unwrap_or(false)
    };
    let sockets = flag("sockets");
    let (check, realtime, sim) = (flag("check"), flag("realtime"), flag("sim"));
    let replay = match matches.try_remove_one::<PathBuf>("replay").ok().flatten() {
        Some(file) => Some(Replay {
            changes: inputs::read(&file).map_err(Error::Setup)?,
            check,
            file,
        }),
        None => None,
    };
    let simulated = sim || (replay.is_some() && !realtime);
    if simulated {
        // Simulated time holds only inside the process: a socket's peer, or a
        // host across the network, lives on real time.
        if sockets {
            return Err(Error::Setup(
                "--sim runs on a virtual clock, which only wires inside the process follow: drop --sockets".to_owned(),
            ));
        }
        if circuit.here.is_some() {
            return Err(Error::Setup(
                "--sim runs on a virtual clock, which a circuit across hosts cannot share: drop --host".to_owned(),
            ));
        }
        clock::simulate();
    }
    let seed: Option<u64> = matches.remove_one("seed");
    let vcd: Option<PathBuf> = matches.remove_one("vcd");
    let web: Option<String> = matches.remove_one("web");
    let mut links = LinkOptions::default();
    if let Ok(Some(ack_timeout)) = matches.try_remove_one("ack-timeout") {
        links.ack_timeout = ack_timeout;
    }
    if let Ok(Some(resolve_timeout)) = matches.try_remove_one("resolve-timeout") {
        links.resolve_timeout = resolve_timeout;
    }
    let panel = panel(&circuit);
    run_until_interrupted(command, quiet, Options::STOP_TIMEOUT, |shutdown| {
        observed(vcd, web, panel, &web_tls, shutdown, |shutdown| async move {
            let line = format!(
                "{prefix}{}",
                up(
                    &circuit,
                    kinds,
                    How {
                        links,
                        tls,
                        sockets,
                        seed,
                        quiet,
                        replay,
                    },
                    shutdown
                )
                .await?
            );
            tracing::info!("{line}");
            Ok(line)
        })
    })
}

/// The analyzer page of a circuit: a row per signal as it appears, and the
/// summary's counts (or, without a summary, a count per signal).
fn panel(circuit: &Circuit) -> Panel {
    // Leaked once: the page lives as long as the process.
    let title: &'static str = Box::leak(format!("circuit {}", circuit.name).into_boxed_str());
    let tallies: Vec<Tally> = circuit
        .summary
        .iter()
        .map(|count| Tally {
            label: Box::leak(count.label.clone().into_boxed_str()),
            signal: Box::leak(count.signal.clone().into_boxed_str()),
            count: count.counting,
        })
        .collect();
    let tallies: &'static [Tally] = Vec::leak(tallies);
    Panel {
        buzz: tallies
            .iter()
            .find(|tally| tally.count == Counting::Rises)
            .map(|tally| tally.signal),
        tallies,
        ..Panel::derived(title)
    }
}

/// Starts the circuit's servers (each bound first, so that every link and
/// timer knows its port), then its timers; waits for the timers, or for
/// `shutdown` when there is none; stops everything; logs the summary.
async fn up(circuit: &Circuit, kinds: &[Kind], how: How, mut shutdown: Shutdown) -> Result<String> {
    let How {
        links,
        tls,
        sockets,
        seed,
        quiet,
        replay,
    } = how;
    // A check compares every change, so every change is kept.
    let kept = replay
        .as_ref()
        .filter(|replay| replay.check)
        .map(|_| Trace::install(true));
    // Counted from the start, so that the summary misses no change.
    let counting = Trace::install_counting();
    // What a run before this one in the same process counted is not this run's.
    let counted_before: Vec<u64> = circuit
        .summary
        .iter()
        .map(|count| counted(&counting, count))
        .collect();
    // Across hosts, only the sketches placed here; the others are found by name.
    let here: Vec<&Planned> = circuit
        .sketches
        .iter()
        .filter(|sketch| circuit.here.is_none() || sketch.host == circuit.here)
        .collect();
    let bind = if circuit.here.is_some() {
        EVERY_ADDRESS
    } else {
        HOST
    };
    let mut listeners = HashMap::new();
    let mut ports = HashMap::new();
    for sketch in &here {
        if kinds[sketch.kind].serves {
            let listener = std::net::TcpListener::bind((bind, 0))?;
            ports.insert(sketch.name.as_str(), listener.local_addr()?.port());
            listeners.insert(sketch.name.as_str(), listener);
        }
    }
    let (servers, timers): (Vec<&Planned>, Vec<&Planned>) = here
        .into_iter()
        .partition(|sketch| kinds[sketch.kind].serves);
    let placement = Placement {
        circuit: Box::leak(circuit.name.clone().into_boxed_str()),
        across_hosts: circuit.here.is_some(),
        bind,
        in_process: !sockets && tls.cert.is_none(),
        wires: wires_of_this_run(),
        links,
        tls,
    };
    let mut running: Vec<(&Planned, Box<dyn Running>)> = Vec::new();
    for sketch in servers.iter().chain(&timers) {
        let kind = &kinds[sketch.kind];
        let started = start(
            sketch,
            kind,
            &ports,
            listeners.remove(sketch.name.as_str()),
            &placement,
            seed,
            quiet,
        );
        match started.await {
            Ok(handle) => running.push((sketch, handle)),
            Err(err) => {
                // The sketch that did not start says what went wrong, not the others.
                let _ = stop_all(running, kinds).await;
                return Err(err);
            }
        }
    }
    let on = circuit
        .here
        .as_ref()
        .map_or(String::new(), |host| format!(" on {host}"));
    tracing::info!(
        "circuit {}{on}: {} sketches up ({} serving, {} ticking)",
        circuit.name,
        running.len(),
        servers.len(),
        timers.len()
    );
    // The sketches that nothing in the file feeds take what they received in the recording.
    let feeding = replay.as_ref().map(|replay| {
        let fed: Vec<(String, Vec<inputs::Input>)> = running
            .iter()
            .map(|(sketch, _)| *sketch)
            .filter(|sketch| kinds[sketch.kind].serves)
            .filter(|sketch| {
                !circuit
                    .sketches
                    .iter()
                    .any(|other| targets(other).contains(&sketch.name.as_str()))
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
        futures_util::future::join_all(
            fed.into_iter()
                .map(move |(wire, inputs)| async move { feed(&wire, inputs, start).await }),
        )
    });
    if let Some(feeding) = feeding {
        for fed in feeding.await {
            fed?;
        }
    }
    if timers.is_empty() && replay.is_none() {
        shutdown.wait().await;
    } else {
        let waiting = async {
            for (sketch, handle) in running.iter_mut() {
                if !kinds[sketch.kind].serves {
                    handle.done().await;
                }
            }
        };
        tokio::select! {
            () = waiting => {}
            () = shutdown.wait() => {}
        }
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
    if circuit.summary.is_empty() {
        return Ok(format!(
            "{} ticks sent, {} acknowledged",
            report.sent, report.acked
        ));
    }
    let counts: Vec<String> = circuit
        .summary
        .iter()
        .zip(counted_before)
        .map(|(count, before)| format!("{} {}", counted(&counting, count) - before, count.label))
        .collect();
    Ok(counts.join(", "))
}

/// What `count` of a circuit's summary has counted so far in this process.
fn counted(trace: &Trace, count: &Count) -> u64 {
    let totals = trace.totals(&count.signal);
    match count.counting {
        Counting::Samples => totals.samples,
        Counting::Rises => totals.rises,
    }
}

/// How the sketches of a run are to run, from the command line.
struct How {
    /// How their links (and timers) deliver.
    links: LinkOptions,
    /// Their certificate files.
    tls: TlsFiles,
    /// `--sockets`: wires of this process over loopback sockets.
    sockets: bool,
    /// `--seed`.
    seed: Option<u64>,
    /// `-q`.
    quiet: bool,
    /// `--replay REC.vcd`: the recording that feeds the sketches nothing in the file feeds.
    replay: Option<Replay>,
}

/// A recording to replay into a circuit.
struct Replay {
    /// Its file, for log lines.
    file: PathBuf,
    /// What it holds.
    changes: inputs::Changes,
    /// `--check`: compare every sketch's signals with it at the end.
    check: bool,
}

/// Where the sketches of this process run: what their DNS-SD records say,
/// and whether they are one part of a circuit across hosts.
struct Placement {
    /// The circuit's name.
    circuit: &'static str,
    /// Whether only some sketches run here (`--host`), the others found by name.
    across_hosts: bool,
    /// The address the servers are bound to.
    bind: &'static str,
    /// How their links (and timers) deliver.
    links: LinkOptions,
    /// Their certificate files: one for every server here.
    tls: TlsFiles,
    /// Whether sketches of this process reach each other over in-memory
    /// pipes (else over loopback sockets, `--sockets`).
    in_process: bool,
    /// What tells this run's in-memory wires from another run's in the same
    /// process (empty for the first run): `mem://buzzer.2/pin`.
    wires: String,
}

/// The suffix of the in-memory wires of a new run: none for the first run
/// of the process, `.2`, `.3`, … for later (or concurrent) ones.
fn wires_of_this_run() -> String {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    match RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) {
        0 => String::new(),
        n => format!(".{}", n + 1),
    }
}

/// Builds one sketch from its planned values, its links pointed at the ports
/// of the sketches they name (or, for a sketch on another host, at its name),
/// and starts it.
async fn start(
    sketch: &Planned,
    kind: &Kind,
    ports: &HashMap<&str, u16>,
    listener: Option<std::net::TcpListener>,
    placement: &Placement,
    seed: Option<u64>,
    quiet: bool,
) -> Result<Box<dyn Running>> {
    // Over TLS a certificate is for a sketch's name: links find even the
    // sketches of this process by name, never by a loopback address.
    let none = HashMap::new();
    let local = if placement.tls.cert.is_some() {
        &none
    } else {
        ports
    };
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
    if kind.seeded {
        values.set_seed(seed);
    }
    let mut options = Options::defaults(0);
    options.socket = placement.bind.to_owned();
    options.quiet = quiet;
    // Leaked once per sketch of the circuit: log lines and signals carry a `&'static str`.
    let name: &'static str = Box::leak(sketch.name.clone().into_boxed_str());
    options.named = (name != kind.name).then_some(name);
    options.circuit = Some(placement.circuit);
    options.links = placement.links;
    options.in_process = placement
        .in_process
        .then(|| &*Box::leak(format!("{name}{}", placement.wires).into_boxed_str()));
    options.tls = placement.tls.clone();
    if placement.across_hosts {
        options.advertise = Some(true);
    }
    match &sketch.to {
        Some(Given::Sketch(target)) => match local.get(target.sketch.as_str()) {
            Some(_) if placement.in_process => {
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
    log::scoped(name, (kind.start)(&mut values, options, listener)).await
}

/// Where a link to a sketch of the circuit goes: `ws://127.0.0.1:PORT/PATH`
/// when the sketch runs in this process, else its name (`dns-sd:NAME/PATH`),
/// on the path written after its name, or else the path of the setting's
/// default URL, or `/`.
fn address_of(
    target: &Target,
    setting: &Setting,
    ports: &HashMap<&str, u16>,
    placement: &Placement,
) -> String {
    let path = target.path.clone().unwrap_or_else(|| {
        setting
            .default
            .and_then(|url| url.strip_prefix("ws://"))
            .and_then(|rest| rest.find('/').map(|at| rest[at..].to_owned()))
            .unwrap_or_else(|| "/".to_owned())
    });
    match ports.get(target.sketch.as_str()) {
        Some(_) if placement.in_process => format!(
            "{}{}{}{path}",
            memory::SCHEME,
            target.sketch,
            placement.wires
        ),
        Some(port) => format!("ws://{HOST}:{port}{path}"),
        None => format!("{NAME_PREFIX}{}{path}", target.sketch),
    }
}

/// Stops every started sketch: timers first, then servers, those that link
/// to others before the ones they link to, so that links deliver into live
/// servers. Sums the timers' reports; the first error wins.
async fn stop_all(running: Vec<(&Planned, Box<dyn Running>)>, kinds: &[Kind]) -> Result<RunReport> {
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
                    .any(|(other, _)| other.name != name && targets(other).contains(&name))
            })
            .unwrap_or(0);
        let (sketch, handle) = left.remove(next);
        let timer = !kinds[sketch.kind].serves;
        match handle.stop().await {
            Ok(report) if timer => {
                total.sent += report.sent;
                total.acked += report.acked;
            }
            Ok(_) => {}
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

/// The sketches of the circuit that `sketch` links or sends to.
fn targets(sketch: &Planned) -> Vec<&str> {
    let linked = sketch.given.iter().flat_map(|(_, given)| given);
    linked
        .chain(&sketch.to)
        .filter_map(|given| match given {
            Given::Sketch(target) => Some(target.sketch.as_str()),
            Given::Text(_) => None,
        })
        .collect()
}
