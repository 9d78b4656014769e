//! The commands that run a circuit: `up FILE`, a circuit file shipped in a
//! program (its own subcommand, with one sketch's settings as flags), and a
//! circuit wired in code; their flags, and how the flags become a run's policy.

use std::path::{Path, PathBuf};

use clap::{value_parser, Arg, ArgMatches, Command};

use crate::app::circuit::file;
use crate::app::circuit::options::for_every_sketch;
use crate::app::circuit::panel::panel;
use crate::app::circuit::plan::{Given, Plan};
use crate::app::circuit::run::{self, Policy, Replay};
use crate::app::circuit::set::{set_arg, Set, SET};
use crate::app::circuit::wired::Circuit;
use crate::app::command::setting_arg;
use crate::app::flags::discovery::{apply_discovery, discovery_args};
use crate::app::flags::links::{
    ack_timeout_arg, resolve_timeout_arg, spool_arg, spool_max_arg, stop_timeout, stop_timeout_arg,
    Scope,
};
use crate::app::flags::replay::{replay_args, replaying, Fed, Replaying};
use crate::app::flags::run::{
    metrics_address, metrics_arg, mqtt_args, published, quiet_arg, seed_arg, sim_arg, sockets_arg,
    vcd_arg, web_arg, Published, QUIET, SEED, SIM, SOCKETS, VCD, WEB,
};
use crate::app::flags::tls::{apply_tls, cert_given, tls_args, tls_files};
use crate::app::flags::{flag, heading, switched};
use crate::app::kind::{self, Kind};
use crate::app::metered::metered;
use crate::app::observed::{observed, ToBroker};
use crate::app::process::run_until_interrupted;
use crate::base::clock;
use crate::base::error::{Error, Result};
use crate::base::features::{require, Feature};
use crate::net::send::link::keep_inside;
use crate::observe::{health, inputs};

/// `up FILE`, the circuit file.
const FILE: &str = "file";
/// `up --host HOST`: only the sketches placed on it run here.
const HOST: &str = "host";

/// The `up` subcommand of every program: its own flags first, then the
/// framework's under a heading per group.
pub(crate) fn up_command() -> Command {
    let [replay, realtime, check] = replay_args(Fed::Circuit);
    Command::new("up")
        .about("Runs every sketch of a circuit file in one process, wired by name")
        .arg(
            Arg::new(FILE)
                .value_name("FILE")
                .required(true)
                .value_parser(value_parser!(PathBuf))
                .help("The circuit file (TOML): its sketches, their kinds, settings and links"),
        )
        .arg(
            flag(HOST)
                .value_name("HOST")
                .help("Start only the sketches placed on HOST (`host = \"…\"`); the others are found by name (DNS-SD). Ends when its timers and the sketches elsewhere that feed it have ended"),
        )
        .arg(set_arg())
        .next_help_heading(heading::LINK)
        .arg(ack_timeout_arg(Scope::Every))
        .arg(spool_arg(Scope::Every))
        .arg(spool_max_arg(Scope::Every))
        .next_help_heading(heading::DISCOVERY)
        .args(discovery_args())
        .arg(resolve_timeout_arg(Scope::Every))
        .next_help_heading(heading::TLS)
        .args(tls_args(true, true))
        .next_help_heading(heading::REPLAY)
        // Across hosts, every host would replay the same inputs; the inputs
        // are fed, and links kept inside, over in-process wires.
        .args([
            replay.conflicts_with(HOST).conflicts_with(SOCKETS),
            realtime,
            check,
        ])
        .next_help_heading(heading::RUN)
        .args(run_args())
        .next_help_heading(None)
}

/// The flags of every command that runs a circuit (`up`, a shipped file, a
/// circuit wired in code), which `run_circuit` reads.
fn run_args() -> [Arg; 10] {
    let [mqtt, home_assistant] = mqtt_args();
    [
        stop_timeout_arg(),
        quiet_arg(),
        seed_arg(),
        vcd_arg(),
        web_arg(),
        metrics_arg(),
        mqtt,
        home_assistant,
        sockets_arg(),
        sim_arg(),
    ]
}

/// Reads and checks the circuit file, then runs it.
///
/// # Errors
/// [`Error::Circuit`] (exit 2) for a file that cannot be read or has
/// mistakes, with nothing started; whatever a sketch fails with.
pub(crate) fn run_up(kinds: &[Kind], matches: &mut ArgMatches) -> Result<()> {
    let kinds = &kind::for_files(kinds);
    let path: PathBuf = matches.remove_one(FILE).unwrap_or_default();
    let text = std::fs::read_to_string(&path)
        .map_err(|err| Error::Circuit(format!("cannot read {}: {err}", path.display())))?;
    let mut circuit = checked(&path, &text, &sets_of(matches), kinds)?;
    let mut prefix = format!("circuit {}: ", circuit.name);
    if let Some(host) = matches.remove_one::<String>(HOST) {
        require(Feature::Discovery, "--host").map_err(Error::Setup)?;
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
        prefix = format!("circuit {} on {host}: ", circuit.name);
        circuit.here = Some(host);
    } else if cert_given(matches) {
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
        let kinds = &kind::for_files(kinds);
        let circuit = file::read(Path::new(self.name), self.text, &[], kinds).ok();
        let about = circuit
            .as_ref()
            .and_then(|circuit| circuit.about.clone())
            .unwrap_or_else(|| format!("Runs the circuit {} in one process", self.name));
        // The sketch's settings (added below, without a heading) come first in `--help`.
        let mut command = Command::new(self.name)
            .about(about)
            .arg(set_arg())
            .next_help_heading(heading::RUN)
            .args(run_args())
            .next_help_heading(None);
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
        let kinds = &kind::for_files(kinds);
        let sets = sets_of(matches);
        let mut circuit = checked(Path::new(self.name), self.text, &sets, kinds)?;
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
        .next_help_heading(heading::DISCOVERY)
        .args(discovery_args())
        .next_help_heading(heading::TLS)
        .args(tls_args(true, true))
        .next_help_heading(heading::RUN)
        .args(run_args())
        .next_help_heading(None)
}

/// Checks a circuit wired in code, then runs it.
///
/// # Errors
/// [`Error::Circuit`] (exit 2) listing every mistake of the wiring, with
/// nothing started; whatever a sketch fails with.
pub(crate) fn run_wired(
    circuit: Circuit,
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

/// The `--set`s given, in order.
fn sets_of(matches: &mut ArgMatches) -> Vec<Set> {
    matches
        .remove_many::<Set>(SET)
        .map(Iterator::collect)
        .unwrap_or_default()
}

/// Reads and checks a circuit file's text with the values `sets` give in
/// its place: the circuit, or every mistake at once.
fn checked(path: &Path, text: &str, sets: &[Set], kinds: &[Kind]) -> Result<Plan> {
    file::read(path, text, sets, kinds).map_err(|mistakes| {
        let with = if mistakes.iter().any(|mistake| mistake.set.is_some()) {
            " with its --set values"
        } else {
            ""
        };
        Error::Circuit(format!(
            "{}{with} has {} mistake{}; nothing was started:\n{}",
            path.display(),
            mistakes.len(),
            if mistakes.len() == 1 { "" } else { "s" },
            file::render(path, text, sets, &mistakes)
        ))
    })
}

/// Runs a checked circuit under command `command`, observed as the flags
/// say; its summary line starts with `prefix`.
fn run_circuit(
    circuit: Plan,
    kinds: &[Kind],
    command: &'static str,
    prefix: &str,
    matches: &mut ArgMatches,
) -> Result<()> {
    apply_discovery(matches)?;
    let metrics = metrics_address(matches)?;
    let tls = tls_files(matches);
    apply_tls(&tls)?;
    let web_tls = tls.clone();
    let quiet = matches.get_flag(QUIET);
    let (sockets, sim) = (switched(matches, SOCKETS), switched(matches, SIM));
    let replaying = replaying(matches);
    let realtime = replaying
        .as_ref()
        .is_some_and(|replaying| replaying.realtime);
    let replay = match replaying {
        Some(Replaying { file, check, .. }) => Some(Replay {
            changes: inputs::read(&file).map_err(Error::Setup)?,
            check,
            file,
        }),
        None => None,
    };
    let simulated = sim || (replay.is_some() && !realtime);
    let published = published_by(matches, &circuit);
    if simulated {
        on_simulated_time(&circuit, sim, sockets, published.is_some())?;
    }
    if let Some(sketch) = circuit
        .sketches
        .iter()
        .find(|s| s.command.is_some() && replay.is_some())
    {
        return Err(Error::Setup(format!(
            "--replay drives nothing outside the process, and `{}` is a command sketch, a program outside it; replay a circuit of this program's kinds",
            sketch.name
        )));
    }
    stays_inside(&circuit, kinds, sim, replay.is_some())?;
    if simulated {
        clock::simulate();
    }
    if replay.is_some() {
        // A replay drives nothing outside: links out of the circuit send nowhere.
        keep_inside();
    }
    let seed: Option<u64> = matches.remove_one(SEED);
    let vcd: Option<PathBuf> = matches.remove_one(VCD);
    let web: Option<String> = matches.remove_one(WEB);
    let gather = vcd.is_some() || web.is_some();
    let every = for_every_sketch(matches, kinds);
    let stop_timeout = stop_timeout(matches);
    let panel = panel(&circuit);
    let broker = published.map(|published| ToBroker {
        published,
        circuit: circuit.name.clone(),
        // Across hosts, each host publishes its own sketches.
        sketches: circuit
            .sketches
            .iter()
            .filter(|sketch| circuit.here.is_none() || sketch.host == circuit.here)
            .map(|sketch| sketch.name.clone())
            .collect(),
    });
    health::whole_circuit();
    run_until_interrupted(command, quiet, stop_timeout, |shutdown| async move {
        let observing = observed(
            vcd,
            web,
            broker,
            panel,
            &web_tls,
            shutdown.clone(),
            |shutdown| async move {
                let policy = Policy {
                    every,
                    tls,
                    sockets,
                    seed,
                    quiet,
                    replay,
                    stop_timeout,
                    gather,
                    driver: None,
                };
                let (summary, lost) = run::run(&circuit, kinds, policy, shutdown).await?;
                health::finished();
                let line = format!("{prefix}{summary}");
                // The summary says what was lost; the run then fails (exit 1).
                if lost.total() == 0 {
                    tracing::info!("{line}");
                } else {
                    tracing::warn!("{line}");
                }
                Ok((line, lost.verdict()))
            },
        );
        metered(metrics.as_deref(), &web_tls, shutdown, observing).await
    })
}

/// Where the run's signals are published: `--mqtt` takes the place of the
/// file's `mqtt`; Home Assistant is asked for by either.
fn published_by(matches: &mut ArgMatches, circuit: &Plan) -> Option<Published> {
    match (published(matches), circuit.published.clone()) {
        (Some(mut given), Some(file)) => {
            given.home_assistant |= file.home_assistant;
            Some(given)
        }
        (given, file) => given.or(file),
    }
}

/// Refuses, before anything starts, a run on simulated time (`sim`, or a
/// replay without `--realtime`) of what lives on real time: a socket's
/// peer (`sockets`), a host across the network, a program outside (a
/// command sketch), a broker (`published`).
///
/// # Errors
/// [`Error::Setup`] (exit 2) saying what to drop; the build's lack of the
/// `sim` feature first.
pub(crate) fn on_simulated_time(
    circuit: &Plan,
    sim: bool,
    sockets: bool,
    published: bool,
) -> Result<()> {
    let asked = if sim {
        "--sim"
    } else {
        "--replay without --realtime (simulated time)"
    };
    require(Feature::Sim, asked).map_err(Error::Setup)?;
    if sockets {
        return Err(Error::Setup(
            "--sim runs on a virtual clock, which only wires inside the process follow: drop --sockets".to_owned(),
        ));
    }
    if circuit.here.is_some() {
        return Err(Error::Setup(
            "--sim runs on a virtual clock, which a circuit across hosts cannot share: drop --host"
                .to_owned(),
        ));
    }
    if let Some(sketch) = circuit.sketches.iter().find(|s| s.command.is_some()) {
        return Err(Error::Setup(format!(
            "{asked} runs on a virtual clock, which a program outside does not follow: `{}` is a command sketch; run the circuit without {asked}",
            sketch.name
        )));
    }
    // A broker's keep-alive and timeouts run on real time.
    if published {
        return Err(Error::Setup(format!(
            "{asked} runs on a virtual clock, which a broker does not follow: drop --mqtt"
        )));
    }
    Ok(())
}

/// Refuses, before anything starts, a run that would send outside the
/// process while it cannot: on simulated time (`--sim`), which a peer
/// outside does not follow (its dial and backoff would spin without ever
/// waiting), a link or a timer's target outside the circuit; in a replay,
/// which drives nothing outside, a timer's target (its links send nowhere).
///
/// # Errors
/// [`Error::Setup`] (exit 2) naming each sketch, its link (or target) and where it goes.
pub(crate) fn stays_inside(
    circuit: &Plan,
    kinds: &[Kind],
    sim: bool,
    replaying: bool,
) -> Result<()> {
    if !sim && !replaying {
        return Ok(());
    }
    let mut refused = Vec::new();
    for sketch in &circuit.sketches {
        for leaving in sketch.leaving(kinds[sketch.kind].settings) {
            match leaving.link {
                Some(link) if !replaying => {
                    refused.push(format!("{}: link `{link}` to {}", sketch.name, leaving.url))
                }
                Some(_) => {}
                None => refused.push(format!("{}: target (`to`) {}", sketch.name, leaving.url)),
            }
        }
    }
    if refused.is_empty() {
        return Ok(());
    }
    let (flag, why) = if replaying {
        ("--replay", "drives nothing outside the process")
    } else {
        (
            "--sim",
            "runs on a virtual clock, which only wires inside the process follow",
        )
    };
    Err(Error::Setup(format!(
        "{flag} {why}, and {} outside the circuit: point {} at its sketches, or drop {flag}\n  {}",
        if refused.len() == 1 {
            "this goes"
        } else {
            "these go"
        },
        if refused.len() == 1 { "it" } else { "them" },
        refused.join("\n  ")
    )))
}
