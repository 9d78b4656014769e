//! [`App`]: a program made of sketches, one subcommand each, with exit codes
//! that mean something (0 success, 2 usage, 1 failure).

use std::ffi::OsString;
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgMatches, Command};

use crate::app::circuit::commands::{self, Shipped};
use crate::app::circuit::Circuit;
use crate::app::command::{command, from_matches};
use crate::app::flags;
use crate::app::flags::discovery::apply_discovery;
use crate::app::flags::tls::apply_tls;
use crate::app::kind::Kind;
use crate::app::ls;
use crate::app::metered::metered;
use crate::app::observed::ToBroker;
use crate::app::probe;
use crate::app::process::run_until_interrupted;
use crate::app::replay;
use crate::app::scenario;
use crate::base::error::{Error, Result};
use crate::base::features::{require, Feature};
use crate::base::sketch::{Runs, Sketch};
use crate::observe::recording::Recording;

/// What a subcommand does with its parsed arguments.
type Runner = Box<dyn FnOnce(&mut ArgMatches) -> Result<()>>;

/// A program made of sketches: one subcommand each, plus any commands of its own.
pub struct App {
    /// The top-level command, with a subcommand per sketch.
    command: Command,
    /// What each subcommand runs, by name, in the order they were added.
    runners: Vec<(String, Runner)>,
    /// The sketch kinds among the subcommands, which circuit files may name.
    kinds: Vec<Kind>,
    /// Circuit files built into the program, each run by a subcommand.
    circuits: Vec<Shipped>,
}

impl App {
    /// A program called `name` with no sketches yet.
    pub fn new(name: &'static str) -> Self {
        App {
            command: Command::new(name)
                .subcommand_required(true)
                .arg_required_else_help(true),
            runners: Vec::new(),
            kinds: Vec::new(),
            circuits: Vec::new(),
        }
    }

    /// Sets the one-line description in `--help`.
    pub fn about(mut self, about: &'static str) -> Self {
        self.command = self.command.about(about);
        self
    }

    /// Adds sketch `S` as a subcommand named after it.
    pub fn sketch<S: Sketch>(mut self) -> Self {
        self.kinds.push(Kind::of::<S>());
        self.command(command::<S>(), |matches| {
            let metrics = flags::run::metrics_address(matches)?;
            if let Some(replaying) = flags::replay::replaying(matches) {
                if metrics.is_some() {
                    return Err(Error::Setup(
                        "--metrics counts a live run, and a lone sketch's --replay is none: replay it in a circuit (`up FILE --replay …`), or drop --metrics".to_owned(),
                    ));
                }
                return replay::run::<S>(replaying, matches);
            }
            apply_discovery(matches)?;
            let published = flags::run::published(matches);
            let (sketch, options) = from_matches::<S>(matches);
            apply_tls(&options.tls)?;
            if options.advertise == Some(true) {
                require(Feature::Discovery, "--advertise").map_err(Error::Setup)?;
            }
            run_until_interrupted(
                S::NAME,
                options.quiet,
                options.stop_timeout,
                |shutdown| async move {
                    let stop = shutdown.clone();
                    let running = async {
                        let recording = Recording::start(options.vcd.clone(), published.is_some())?;
                        // A sketch alone is a circuit of its own, by its name.
                        let broker = published.map(|published| {
                            let name = options.named.as_deref().unwrap_or(S::NAME).to_owned();
                            ToBroker {
                                published,
                                circuit: name.clone(),
                                sketches: vec![name],
                            }
                        });
                        let signals = match (&broker, &recording) {
                            (Some(broker), Some(recording)) => Some(broker.start(recording)?),
                            _ => None,
                        };
                        let result = <S::Role as Runs<S>>::run(sketch, &options, shutdown).await;
                        if let Some(signals) = signals {
                            signals.stop().await;
                        }
                        match recording {
                            Some(recording) => result.and(recording.finish(None)),
                            None => result,
                        }
                    };
                    metered(metrics.as_deref(), &options.tls, stop, running).await
                },
            )
        })
    }

    /// Adds subcommand `name`, which runs a circuit file built into the
    /// program (its `text`, from `include_str!`) as `up FILE` would, and takes
    /// the settings of its sketch `flags_of` as flags of its own:
    /// `.circuit("circuit", include_str!("../circuits/demo.toml"), "clock")`
    /// gives `circuit -t 20 -d 0.5`. The file is checked against every sketch
    /// of the program when the command runs; `--help` shows its `about`.
    pub fn circuit(
        mut self,
        name: &'static str,
        text: &'static str,
        flags_of: &'static str,
    ) -> Self {
        self.circuits.push(Shipped {
            name,
            text,
            flags_of,
        });
        self
    }

    /// Adds subcommand `name`, which runs `circuit`, wired in code, as `up`
    /// runs a file: `-q`, `--seed`, `--vcd` and `--web` work the same, and
    /// every mistake the wiring has is reported (exit 2) before anything starts.
    pub fn wired(self, name: &'static str, circuit: Circuit) -> Self {
        let command = commands::wired_command(name);
        self.command(command, move |matches| {
            commands::run_wired(circuit, name, matches)
        })
    }

    /// Adds a subcommand of the program's own, such as one that runs several sketches.
    pub fn command(
        mut self,
        command: Command,
        run: impl FnOnce(&mut ArgMatches) -> Result<()> + 'static,
    ) -> Self {
        self.runners
            .push((command.get_name().to_owned(), Box::new(run)));
        self.command = self.command.subcommand(command);
        self
    }

    /// Parses the process's arguments, runs the chosen subcommand, and returns its exit code.
    pub fn run(self) -> ExitCode {
        self.run_from(std::env::args_os())
    }

    /// As [`App::run`], with the given arguments (the first is the program name).
    pub fn run_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        ExitCode::from(self.status_from(args))
    }

    /// As [`App::run_from`], with the exit status as a number: 0 success, 2
    /// usage, 1 failure (including a program that names two subcommands alike).
    pub fn status_from<I, T>(mut self, args: I) -> u8
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let program = self.command.get_name().to_owned();
        // Every program runs circuit files of its own sketches, lists the
        // sketches on the network and talks to one by hand.
        let kinds = self.kinds.clone();
        for shipped in std::mem::take(&mut self.circuits) {
            let kinds = kinds.clone();
            self = self.command(shipped.command(&kinds), move |matches| {
                shipped.run(&kinds, matches)
            });
        }
        let tested = kinds.clone();
        self = self.command(commands::up_command(), move |matches| {
            commands::run_up(&kinds, matches)
        });
        self = self.command(scenario::command::test_command(), move |matches| {
            scenario::command::run_test(&tested, matches)
        });
        self = self.command(ls::command(), ls::run);
        self = self.command(probe::command(), probe::run);
        if let Some(twice) = self.named_twice() {
            eprintln!(
                "[ {program} ] error: two subcommands are called `{twice}`; give one of the sketches another name with #[sketch(name = \"…\")]"
            );
            return 1;
        }
        let choices = self.choices();
        let mut matches = match self.command.try_get_matches_from(args) {
            Ok(matches) => matches,
            Err(err) if err.kind() == ErrorKind::InvalidSubcommand => {
                let name = match err.get(ContextKind::InvalidSubcommand) {
                    Some(ContextValue::String(name)) => name.clone(),
                    _ => String::new(),
                };
                eprintln!("error: unrecognized subcommand '{name}': please choose {choices}");
                eprintln!("\nFor more information, try '--help'.");
                return 2;
            }
            Err(err) => {
                let _ = err.print();
                return u8::try_from(err.exit_code()).unwrap_or(2);
            }
        };
        let Some((name, mut sub)) = matches.remove_subcommand() else {
            return 2; // clap requires a subcommand, so unreachable
        };
        let Some(run) = self
            .runners
            .into_iter()
            .find_map(|(runner, run)| (runner == name).then_some(run))
        else {
            return 2;
        };
        match run(&mut sub) {
            Ok(()) => 0,
            Err(err) => {
                eprintln!("[ {name} ] error: {err}");
                err.exit_code()
            }
        }
    }

    /// The first subcommand name given twice, if any (clap would panic on it).
    fn named_twice(&self) -> Option<&str> {
        self.runners.iter().enumerate().find_map(|(i, (name, _))| {
            self.runners[..i]
                .iter()
                .any(|(earlier, _)| earlier == name)
                .then_some(name.as_str())
        })
    }

    /// "clock, iopin or buzzer (or a command: circuit, probe)", for an unknown subcommand.
    fn choices(&self) -> String {
        let commands: Vec<&str> = self
            .runners
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| !self.kinds.iter().any(|kind| kind.name == *name))
            .collect();
        let sketches: Vec<&str> = self.kinds.iter().map(|kind| kind.name).collect();
        let mut choices = match sketches.as_slice() {
            [] => "a command".to_owned(),
            [one] => (*one).to_owned(),
            [first @ .., last] => format!("{} or {last}", first.join(", ")),
        };
        if !commands.is_empty() && !sketches.is_empty() {
            choices.push_str(&format!(" (or a command: {})", commands.join(", ")));
        } else if !commands.is_empty() {
            choices = commands.join(", ");
        }
        choices
    }
}
