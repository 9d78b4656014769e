//! The commands that run a circuit: `up FILE`, a circuit file shipped in a
//! program (its own subcommand, with one sketch's settings as flags), and a
//! circuit wired in code; their flags, and how the flags become a run's policy.

use std::path::{Path, PathBuf};

use clap::{value_parser, Arg, ArgMatches, Command};

use crate::app::circuit::file;
use crate::app::circuit::panel::panel;
use crate::app::circuit::plan::{Given, Plan};
use crate::app::circuit::run::{self, Policy, Replay};
use crate::app::circuit::wired::Circuit;
use crate::app::command::setting_arg;
use crate::app::flags::discovery::{apply_discovery, discovery_args};
use crate::app::flags::links::{ack_timeout_arg, link_options, resolve_timeout_arg, Scope};
use crate::app::flags::replay::{replay_args, replaying, Fed, Replaying};
use crate::app::flags::run::{
    quiet_arg, seed_arg, sim_arg, sockets_arg, vcd_arg, web_arg, QUIET, SEED, SIM, SOCKETS, VCD,
    WEB,
};
use crate::app::flags::tls::{apply_tls, cert_given, tls_args, tls_files};
use crate::app::flags::{flag, switched};
use crate::app::kind::Kind;
use crate::app::observed::observed;
use crate::app::process::run_until_interrupted;
use crate::base::clock;
use crate::base::error::{Error, Result};
use crate::base::features::{require, Feature};
use crate::base::options::Options;
use crate::observe::inputs;

/// `up FILE`, the circuit file.
const FILE: &str = "file";
/// `up --host HOST`: only the sketches placed on it run here.
const HOST: &str = "host";

/// The `up` subcommand of every program.
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
        .arg(ack_timeout_arg(Scope::Every))
        .arg(resolve_timeout_arg(Scope::Every))
        .args(discovery_args())
        .args(tls_args(true, true))
        // Across hosts, every host would replay the same inputs.
        .args([replay.conflicts_with(HOST), realtime, check])
        .arg(
            flag(HOST)
                .value_name("HOST")
                .help("Start only the sketches placed on HOST (`host = \"…\"`); the others are found by name (DNS-SD). Ends when its timers and the sketches elsewhere that feed it have ended"),
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

/// Reads and checks the circuit file, then runs it.
///
/// # Errors
/// [`Error::Circuit`] (exit 2) for a file that cannot be read or has
/// mistakes, with nothing started; whatever a sketch fails with.
pub(crate) fn run_up(kinds: &[Kind], matches: &mut ArgMatches) -> Result<()> {
    let path: PathBuf = matches.remove_one(FILE).unwrap_or_default();
    let text = std::fs::read_to_string(&path)
        .map_err(|err| Error::Circuit(format!("cannot read {}: {err}", path.display())))?;
    let mut circuit = checked(&path, &text, kinds)?;
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
        let circuit = file::read(Path::new(self.name), self.text, kinds).ok();
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

/// Reads and checks a circuit file's text: the circuit, or every mistake at once.
fn checked(path: &Path, text: &str, kinds: &[Kind]) -> Result<Plan> {
    file::read(path, text, kinds).map_err(|mistakes| {
        Error::Circuit(format!(
            "{} has {} mistake{}; nothing was started:\n{}",
            path.display(),
            mistakes.len(),
            if mistakes.len() == 1 { "" } else { "s" },
            file::render(path, text, &mistakes)
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
    if simulated {
        let asked = if sim {
            "--sim"
        } else {
            "--replay without --realtime (simulated time)"
        };
        require(Feature::Sim, asked).map_err(Error::Setup)?;
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
    let seed: Option<u64> = matches.remove_one(SEED);
    let vcd: Option<PathBuf> = matches.remove_one(VCD);
    let web: Option<String> = matches.remove_one(WEB);
    let links = link_options(matches);
    let panel = panel(&circuit);
    run_until_interrupted(command, quiet, Options::STOP_TIMEOUT, |shutdown| {
        observed(vcd, web, panel, &web_tls, shutdown, |shutdown| async move {
            let line = format!(
                "{prefix}{}",
                run::run(
                    &circuit,
                    kinds,
                    Policy {
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
