//! The command line: one subcommand per sketch, its settings as flags, and exit
//! codes that mean something (0 success, 2 usage, 1 failure).

use std::ffi::OsString;
use std::fmt::Display;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::builder::ValueParser;
use clap::{value_parser, Arg, ArgAction, ArgMatches, Command};
use tokio::time::timeout;

use crate::auth::{Token, TOKEN_VAR};
use crate::log;
use crate::shutdown::{Interrupts, Shutdown};
use crate::sketch::{Role, Sketch};
use crate::trace::Recording;
use crate::{Error, Result};

/// The default of `-p/--port` when `#[sketch]` names none (the seed's iopin port).
pub const DEFAULT_PORT: u16 = 8765;

/// How long a sketch may take to stop after Ctrl-C or SIGTERM.
const STOPPING: Duration = Duration::from_secs(2);

/// One setting of a sketch, as `#[sketch]` describes it: becomes `--long VALUE`.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    /// The field's name, used as the argument id.
    pub id: &'static str,
    /// The flag, `--long`: the field's name with `-` for `_`.
    pub long: &'static str,
    /// The optional one-letter flag, `-x`.
    pub short: Option<char>,
    /// The placeholder in `--help`, such as `CHANCE`.
    pub value_name: &'static str,
    /// The field's doc comment.
    pub help: &'static str,
    /// The default as the user wrote it, shown in `--help`.
    pub default: Option<&'static str>,
    /// Reads the value from its command-line text.
    pub parser: fn() -> ValueParser,
}

impl Setting {
    fn arg(&self) -> Arg {
        // Doc comments end with a period; clap's help lines do not.
        let help = self.help.strip_suffix('.').unwrap_or(self.help);
        let help = match self.default {
            Some(default) => format!("{help} [default: {default}]"),
            None => help.to_owned(),
        };
        let mut arg = Arg::new(self.id)
            .long(self.long)
            .value_name(self.value_name)
            .value_parser((self.parser)())
            .help(help);
        if let Some(short) = self.short {
            arg = arg.short(short);
        }
        arg
    }
}

/// The flags every sketch has, whatever its own settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// `-s/--socket`: the host to serve on, or the host of the server to tick.
    pub socket: String,
    /// `-p/--port`: the port to serve on (0 picks a free one), or the server's port.
    pub port: u16,
    /// `-q/--quiet`: silence the per-message log lines.
    pub quiet: bool,
    /// `--retry-for`: how long a timer sketch keeps trying to reach its server.
    pub retry_for: Duration,
    /// What a server accepts from its peers.
    pub limits: Limits,
    /// `--token` (or `CIRCUIT_TOKEN`): the secret servers require and clients and links present.
    pub token: Option<Token>,
    /// Where to record this sketch's signals as a VCD file (`--vcd FILE`).
    pub vcd: Option<PathBuf>,
}

/// What a server accepts from its peers, so that no peer can exhaust it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `--max-message`: the largest message (and frame) in bytes; larger ones close with 1009.
    pub max_message: usize,
    /// `--max-clients`: peers served at once; more are refused with HTTP 503.
    pub max_clients: usize,
    /// `--handshake-timeout`: a peer that has not finished its handshake by then is dropped.
    pub handshake_timeout: Duration,
    /// `--ping-interval`: a peer silent this long is pinged, and dropped if it
    /// stays silent as long again; zero turns keepalive off.
    pub ping_interval: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 64 * 1024,
            max_clients: 1024,
            handshake_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
        }
    }
}

impl Options {
    /// The defaults of sketch `S`, as if no flag were given.
    pub fn defaults<S: Sketch>() -> Self {
        Options {
            socket: "localhost".to_owned(),
            port: S::PORT,
            quiet: false,
            retry_for: Duration::from_secs(10),
            limits: Limits::default(),
            token: None,
            vcd: None,
        }
    }

    fn from_matches<S: Sketch>(matches: &mut ArgMatches) -> Self {
        let defaults = Options::defaults::<S>();
        Options {
            socket: matches.remove_one("socket").unwrap_or(defaults.socket),
            port: matches.remove_one("port").unwrap_or(defaults.port),
            quiet: matches.get_flag("quiet"),
            retry_for: optional(matches, "retry-for").unwrap_or(defaults.retry_for),
            vcd: matches.remove_one("vcd"),
            token: matches
                .remove_one::<String>("token")
                .or_else(|| std::env::var(TOKEN_VAR).ok())
                .filter(|secret| !secret.is_empty())
                .map(Token::new),
            limits: Limits {
                max_message: optional(matches, "max-message")
                    .unwrap_or(defaults.limits.max_message),
                max_clients: optional(matches, "max-clients")
                    .unwrap_or(defaults.limits.max_clients),
                handshake_timeout: optional(matches, "handshake-timeout")
                    .unwrap_or(defaults.limits.handshake_timeout),
                ping_interval: optional(matches, "ping-interval")
                    .unwrap_or(defaults.limits.ping_interval),
            },
        }
    }
}

/// The value of a flag that only some sketches have.
fn optional<T: Clone + Send + Sync + 'static>(matches: &mut ArgMatches, id: &str) -> Option<T> {
    matches.try_remove_one(id).ok().flatten()
}

/// The subcommand of sketch `S`: the common flags, then its own settings.
pub fn command<S: Sketch>() -> Command {
    let (socket_help, port_help) = match S::ROLE {
        Role::Server => (
            "Host or address to serve on",
            "Port to serve on; 0 picks a free one",
        ),
        Role::Timer => (
            "Host of the server to send to",
            "Port of the server to send to",
        ),
    };
    let mut command = Command::new(S::NAME)
        .about(S::ABOUT)
        .arg(
            Arg::new("socket")
                .short('s')
                .long("socket")
                .value_name("HOST")
                .help(format!("{socket_help} [default: localhost]")),
        )
        .arg(
            Arg::new("port")
                .short('p')
                .long("port")
                .value_name("PORT")
                .value_parser(value_parser!(u16))
                .help(format!("{port_help} [default: {}]", S::PORT)),
        )
        .arg(quiet_arg())
        .arg(
            Arg::new("token")
                .long("token")
                .value_name("SECRET")
                .help(format!(
                    "Shared secret: servers refuse peers without it, clients send it [env: {TOKEN_VAR}]"
                )),
        )
        .arg(vcd_arg());
    if S::ROLE == Role::Server {
        let limits = Limits::default();
        command = command
            .arg(
                Arg::new("max-message")
                    .long("max-message")
                    .value_name("BYTES")
                    .value_parser(value_parser!(usize))
                    .help(format!(
                        "Largest message accepted; larger ones are refused with 1009 [default: {}]",
                        limits.max_message
                    )),
            )
            .arg(
                Arg::new("max-clients")
                    .long("max-clients")
                    .value_name("N")
                    .value_parser(value_parser!(usize))
                    .help(format!(
                        "Peers served at once; more are refused with HTTP 503 [default: {}]",
                        limits.max_clients
                    )),
            )
            .arg(
                Arg::new("handshake-timeout")
                    .long("handshake-timeout")
                    .value_name("SECONDS")
                    .value_parser(seconds)
                    .help(format!(
                        "Drop peers whose handshake takes longer [default: {}]",
                        limits.handshake_timeout.as_secs()
                    )),
            )
            .arg(
                Arg::new("ping-interval")
                    .long("ping-interval")
                    .value_name("SECONDS")
                    .value_parser(seconds)
                    .help(format!(
                        "Ping peers silent this long, drop them if still silent; 0 = never [default: {}]",
                        limits.ping_interval.as_secs()
                    )),
            );
    }
    if S::ROLE == Role::Timer {
        command = command.arg(
            Arg::new("retry-for")
                .long("retry-for")
                .value_name("SECONDS")
                .value_parser(seconds)
                .help("How long to keep trying to reach the server [default: 10]"),
        );
    }
    if S::SEEDED {
        command = command.arg(seed_arg());
    }
    S::SETTINGS
        .iter()
        .fold(command, |command, setting| command.arg(setting.arg()))
}

/// `-q/--quiet`, as every sketch has it: silences the per-message log lines.
pub fn quiet_arg() -> Arg {
    Arg::new("quiet")
        .short('q')
        .long("quiet")
        .action(ArgAction::SetTrue)
        .help("Silence the per-message log lines")
}

/// The `--vcd FILE` flag: record the signals as a Value Change Dump.
pub fn vcd_arg() -> Arg {
    Arg::new("vcd")
        .long("vcd")
        .value_name("FILE")
        .value_parser(value_parser!(PathBuf))
        .help("Record the signals (with their times) to FILE, a VCD for GTKWave or Surfer")
}

/// `--seed N`, as every sketch that draws random numbers has it.
pub fn seed_arg() -> Arg {
    Arg::new("seed")
        .long("seed")
        .value_name("N")
        .value_parser(value_parser!(u64))
        .help("Seed for the random draws: the same seed repeats a run")
}

/// Builds sketch `S` and its options from command-line arguments (without the
/// program name), as its subcommand would.
///
/// # Errors
/// clap's error for an unknown flag or a value that does not parse.
pub fn parse<S, I, T>(args: I) -> Result<(S, Options), clap::Error>
where
    S: Sketch,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args = std::iter::once(OsString::from(S::NAME)).chain(args.into_iter().map(Into::into));
    let mut matches = command::<S>().try_get_matches_from(args)?;
    let options = Options::from_matches::<S>(&mut matches);
    Ok((S::from_settings(&mut matches), options))
}

/// A non-negative, finite number of seconds, fractions allowed.
pub(crate) fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text.parse().map_err(|err| format!("{err}"))?;
    Duration::try_from_secs_f64(value).map_err(|_| format!("{text} is not a number of seconds ≥ 0"))
}

/// What a subcommand does with its parsed arguments.
type Runner = Box<dyn FnOnce(&mut ArgMatches) -> Result<()>>;

/// A program made of sketches: one subcommand each, plus any commands of its own.
pub struct App {
    /// The top-level command, with a subcommand per sketch.
    command: Command,
    /// What each subcommand runs, by name.
    runners: Vec<(String, Runner)>,
}

impl App {
    /// A program called `name` with no sketches yet.
    pub fn new(name: &'static str) -> Self {
        App {
            command: Command::new(name)
                .subcommand_required(true)
                .arg_required_else_help(true),
            runners: Vec::new(),
        }
    }

    /// Sets the one-line description in `--help`.
    pub fn about(mut self, about: &'static str) -> Self {
        self.command = self.command.about(about);
        self
    }

    /// Adds sketch `S` as a subcommand named after it.
    pub fn sketch<S: Sketch>(self) -> Self {
        self.command(command::<S>(), |matches| {
            let options = Options::from_matches::<S>(matches);
            let sketch = S::from_settings(matches);
            run_until_interrupted(S::NAME, options.quiet, |shutdown| async move {
                let recording = Recording::start(options.vcd.clone(), false)?;
                let result = sketch.run(&options, shutdown).await;
                match recording {
                    Some(recording) => result.and(recording.finish(None)),
                    None => result,
                }
            })
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
        let mut matches = match self.command.try_get_matches_from(args) {
            Ok(matches) => matches,
            Err(err) => {
                let _ = err.print();
                return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
            }
        };
        let Some((name, mut sub)) = matches.remove_subcommand() else {
            return ExitCode::from(2); // clap requires a subcommand, so unreachable
        };
        let Some(run) = self
            .runners
            .into_iter()
            .find_map(|(runner, run)| (runner == name).then_some(run))
        else {
            return ExitCode::from(2);
        };
        match run(&mut sub) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("[ {name} ] error: {err}");
                ExitCode::from(err.exit_code())
            }
        }
    }
}

/// Runs `body` as sketch `name` on a fresh async runtime until it ends, or
/// until Ctrl-C / SIGTERM: then it logs `Keyboard interruption, aborting.`,
/// fires the shutdown that `body` was given, and lets it finish (at most 2 s).
///
/// # Errors
/// Whatever `body` returns, or an I/O error starting the runtime.
pub fn run_until_interrupted<F, Fut>(name: &'static str, quiet: bool, body: F) -> Result<()>
where
    F: FnOnce(Shutdown) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    // Declared before the runtime, so dropped after it: the last lines get written.
    let _log = log::init(quiet);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(log::scoped(name, async move {
        let mut interrupts = Interrupts::listen()?;
        let shutdown = Shutdown::new();
        let body = body(shutdown.clone());
        tokio::pin!(body);
        tokio::select! {
            result = &mut body => result,
            _ = interrupts.recv() => {
                tracing::info!("Keyboard interruption, aborting.");
                shutdown.trigger();
                match timeout(STOPPING, body).await {
                    Ok(result) => result,
                    Err(_) => {
                        tracing::warn!("did not stop within {}s; leaving anyway", STOPPING.as_secs());
                        Ok(())
                    }
                }
            }
        }
    }))
}

/// Turns a displayable error into a setup error (exit code 2).
pub(crate) fn setup_error(err: impl Display) -> Error {
    Error::Setup(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_take_fractions_but_not_negatives() {
        assert_eq!(seconds("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(seconds("0"), Ok(Duration::ZERO));
        assert!(seconds("-1").is_err());
        assert!(seconds("soon").is_err());
        assert!(seconds("NaN").is_err());
    }
}
