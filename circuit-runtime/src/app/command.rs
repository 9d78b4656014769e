//! The command line of a sketch: its subcommand (the common flags, then its
//! own settings as flags) and how parsed flags become a sketch and its options.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::ValueParser;
use clap::{value_parser, Arg, ArgAction, ArgMatches, Command};

use crate::base::features::{require, Feature};
use crate::base::options::{Limits, LinkOptions, Options, TlsFiles, Token, TOKEN_VAR};
use crate::base::settings::{Parsed, Setting, Values};
use crate::base::sketch::{Runs, Sketch};
use crate::net::address::Address;
use crate::net::unicast::{self, DnsServer};
use crate::net::{auth, tls};

/// The flag of one setting: `--long VALUE`, or `--long` alone for a switch;
/// its help shows `default` (the setting's own default when `None`).
pub(crate) fn setting_arg(setting: &Setting, default: Option<&str>) -> Arg {
    // Doc comments end with a period; clap's help lines do not.
    let help = setting.help.strip_suffix('.').unwrap_or(setting.help);
    let mut help = match default.or(setting.default) {
        Some(default) if !setting.switch => format!("{help} [default: {default}]"),
        _ => help.to_owned(),
    };
    if setting.repeats {
        help.push_str(" (repeatable, or a comma list)");
    }
    let mut arg = Arg::new(setting.id).long(setting.long).help(help);
    if setting.switch {
        arg = arg.action(ArgAction::SetTrue);
    } else {
        let parse = setting.parse;
        arg = arg
            .value_name(setting.value_name)
            .value_parser(ValueParser::new(move |text: &str| parse(text)));
        if setting.repeats {
            arg = arg.action(ArgAction::Append).value_delimiter(',');
        }
    }
    if let Some(short) = setting.short {
        arg = arg.short(short);
    }
    arg
}

/// The values of sketch `S`'s own settings that were given on the command line.
fn values_from<S: Sketch>(matches: &mut ArgMatches) -> Values {
    let mut values = Values::new();
    for setting in S::SETTINGS {
        if setting.switch {
            if matches.get_flag(setting.id) {
                values.insert(setting.id, std::sync::Arc::new(true));
            }
        } else if let Some(given) = matches.remove_many::<Parsed>(setting.id) {
            for value in given {
                values.insert(setting.id, value);
            }
        }
    }
    if S::SEEDED {
        values.set_seed(matches.remove_one("seed"));
    }
    values
}

/// The common options of sketch `S` from its parsed flags.
fn options_from<S: Sketch>(matches: &mut ArgMatches) -> Options {
    let defaults = Options::defaults(S::PORT);
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
            max_message: optional(matches, "max-message").unwrap_or(defaults.limits.max_message),
            max_clients: optional(matches, "max-clients").unwrap_or(defaults.limits.max_clients),
            handshake_timeout: optional(matches, "handshake-timeout")
                .unwrap_or(defaults.limits.handshake_timeout),
            ping_interval: optional(matches, "ping-interval")
                .unwrap_or(defaults.limits.ping_interval),
        },
        links: LinkOptions {
            attempts: optional(matches, "link-attempts").unwrap_or(defaults.links.attempts),
            ack_timeout: optional(matches, "ack-timeout").unwrap_or(defaults.links.ack_timeout),
            window: optional(matches, "link-window").unwrap_or(defaults.links.window),
            resolve_timeout: optional(matches, "resolve-timeout")
                .unwrap_or(defaults.links.resolve_timeout),
        },
        stop_timeout: optional(matches, "stop-timeout").unwrap_or(defaults.stop_timeout),
        named: None,
        to: optional(matches, "to"),
        advertise: if optional::<bool>(matches, "advertise").unwrap_or(false) {
            Some(true)
        } else if optional::<bool>(matches, "no-advertise").unwrap_or(false) {
            Some(false)
        } else {
            None
        },
        circuit: None,
        tls: tls_files(matches),
        in_process: None,
    }
}

/// The value of a flag that only some sketches have.
fn optional<T: Clone + Send + Sync + 'static>(matches: &mut ArgMatches, id: &str) -> Option<T> {
    matches.try_remove_one(id).ok().flatten()
}

/// The subcommand of sketch `S`: the common flags, then its own settings.
pub fn command<S: Sketch>() -> Command {
    let serves = <S::Role as Runs<S>>::SERVES;
    let (socket_help, port_help) = if serves {
        (
            "Host or address to serve on",
            "Port to serve on; 0 picks a free one",
        )
    } else {
        (
            "Host of the server to send to",
            "Port of the server to send to",
        )
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
    if serves {
        command = limit_args(command);
    }
    if serves {
        command = replay_and_advertise_args(command);
    }
    if !serves {
        command = timer_args(command);
    }
    let links = LinkOptions::default();
    command = command.args(tls_args(serves, S::LINKED || !serves));
    if S::LINKED || !serves {
        command = command.args(discovery_args());
        command = command.arg(
            Arg::new("resolve-timeout")
                .long("resolve-timeout")
                .value_name("SECONDS")
                .value_parser(seconds)
                .help(format!(
                    "How long a sketch's name may take to answer on the network [default: {}]",
                    links.resolve_timeout.as_secs()
                )),
        );
        command = command.arg(
            Arg::new("ack-timeout")
                .long("ack-timeout")
                .value_name("SECONDS")
                .value_parser(seconds)
                .help(format!(
                    "Drop a peer that leaves a message unacknowledged this long, and resend [default: {}]",
                    links.ack_timeout.as_secs()
                )),
        );
    }
    if S::LINKED {
        command = link_args(command, &links);
    }
    command = command.arg(
        Arg::new("stop-timeout")
            .long("stop-timeout")
            .value_name("SECONDS")
            .value_parser(seconds)
            .help(format!(
                "How long a stop may take to deliver what the links still hold [default: {}]",
                Options::STOP_TIMEOUT.as_secs()
            )),
    );
    if S::SEEDED {
        command = command.arg(seed_arg());
    }
    S::SETTINGS.iter().fold(command, |command, setting| {
        command.arg(setting_arg(setting, None))
    })
}

/// A server's limits on its peers: `--max-message`, `--max-clients`,
/// `--handshake-timeout`, `--ping-interval`.
fn limit_args(command: Command) -> Command {
    let limits = Limits::default();
    command
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
        )
}

/// A server's `--replay`, `--realtime` and `--check`, and whether it
/// advertises itself (`--advertise`, `--no-advertise`).
fn replay_and_advertise_args(command: Command) -> Command {
    command
        .arg(
            Arg::new("replay")
                .long("replay")
                .value_name("REC.vcd")
                .value_parser(value_parser!(PathBuf))
                .help("Run alone, fed what this sketch received in a recording (--vcd), at the recorded times, with no socket"),
        )
        .arg(
            Arg::new("realtime")
                .long("realtime")
                .action(ArgAction::SetTrue)
                .requires("replay")
                .help("With --replay, wait out the recorded times instead of simulating them"),
        )
        .arg(
            Arg::new("check")
                .long("check")
                .action(ArgAction::SetTrue)
                .requires("replay")
                .help("With --replay, compare the signals recorded with the recording's; exit 1 with the first differences"),
        )
        .arg(
            Arg::new("advertise")
                .long("advertise")
                .action(ArgAction::SetTrue)
                .conflicts_with("no-advertise")
                .help("Announce this sketch by DNS-SD (_circuit._tcp) [default: when bound beyond loopback]"),
        )
        .arg(
            Arg::new("no-advertise")
                .long("no-advertise")
                .action(ArgAction::SetTrue)
                .help("Do not announce this sketch by DNS-SD"),
        )
}

/// A timer's `--retry-for` and `--to`.
fn timer_args(command: Command) -> Command {
    command
        .arg(
            Arg::new("retry-for")
                .long("retry-for")
                .value_name("SECONDS")
                .value_parser(seconds)
                .help("How long to keep trying to reach the server [default: 10]"),
        )
        .arg(
            Arg::new("to")
                .long("to")
                .value_name("NAME|URL")
                .value_parser(|text: &str| Address::parse(text).map(|_| text.to_owned()))
                .conflicts_with_all(["socket", "port"])
                .help("Where to send: a sketch's name, found by DNS-SD, or a ws:// or wss:// URL (instead of -s/-p)"),
        )
}

/// A linked sketch's `--link-attempts` and `--link-window`.
fn link_args(command: Command, links: &LinkOptions) -> Command {
    command
        .arg(
            Arg::new("link-attempts")
                .long("link-attempts")
                .value_name("N")
                .value_parser(clap::value_parser!(u32).range(1..))
                .help(format!(
                    "Connections that may end on one message before it is dead-lettered [default: {}]",
                    links.attempts
                )),
        )
        .arg(
            Arg::new("link-window")
                .long("link-window")
                .value_name("N")
                .value_parser(clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65_536))
                .help(format!(
                    "Messages a link sends before the first is acknowledged [default: {}]",
                    links.window
                )),
        )
}

/// The TLS flags: a certificate and key (a server's, or a client's for
/// mutual TLS), `--client-ca` on a server, and for a side that dials, `--ca`
/// and `--allow-plaintext-token`.
pub fn tls_args(serves: bool, dials: bool) -> Vec<Arg> {
    let file = |id: &'static str, help: &'static str| {
        Arg::new(id)
            .long(id)
            .value_name("FILE")
            .value_parser(value_parser!(PathBuf))
            .help(help)
    };
    let mut args = vec![
        file(
            "tls-cert",
            if serves {
                "Serve wss:// with this certificate chain (PEM); with --tls-key"
            } else {
                "Present this certificate (PEM) to servers that ask for one (mutual TLS); with --tls-key"
            },
        ),
        file("tls-key", "The private key (PEM) of --tls-cert"),
    ];
    if serves {
        args.push(file(
            "client-ca",
            "Require client certificates signed by this CA (PEM): mutual TLS",
        ));
    }
    if dials {
        args.push(file(
            "ca",
            "Trust servers whose certificates this CA (PEM) signed, instead of the system's roots",
        ));
        args.push(
            Arg::new("allow-plaintext-token")
                .long("allow-plaintext-token")
                .action(ArgAction::SetTrue)
                .help("Send the token over plain ws:// to a peer beyond loopback (it crosses the network in the clear)"),
        );
    }
    args
}

/// The TLS flags given, of those the command has.
pub fn tls_files(matches: &mut ArgMatches) -> TlsFiles {
    TlsFiles {
        cert: optional(matches, "tls-cert"),
        key: optional(matches, "tls-key"),
        client_ca: optional(matches, "client-ca"),
        ca: optional(matches, "ca"),
        allow_plaintext_token: optional::<bool>(matches, "allow-plaintext-token").unwrap_or(false),
    }
}

/// Applies a side's TLS choices to this process's clients.
///
/// # Errors
/// [`Error::Setup`](crate::Error::Setup) (exit 2) for a file given to a build
/// without the `tls` feature; [`Error::Tls`](crate::Error::Tls) (exit 1) for a
/// file that cannot be used, named.
pub fn apply_tls(files: &TlsFiles) -> crate::Result<()> {
    let given = [
        ("--tls-cert", files.cert.is_some()),
        ("--tls-key", files.key.is_some()),
        ("--client-ca", files.client_ca.is_some()),
        ("--ca", files.ca.is_some()),
    ];
    if let Some((flag, _)) = given.iter().find(|(_, given)| *given) {
        require(Feature::Tls, flag).map_err(crate::Error::Setup)?;
    }
    auth::allow_plaintext_token(files.allow_plaintext_token);
    tls::use_client(files).map_err(crate::Error::Tls)
}

/// `--discovery` and `--domain`: how names are resolved (multicast DNS, or a DNS server).
pub fn discovery_args() -> [Arg; 2] {
    [
        Arg::new("discovery")
            .long("discovery")
            .value_name("mdns|dns:SERVER[:PORT]")
            .help("How sketches' names are resolved: multicast DNS on this network, or SRV records of a DNS server [default: mdns]"),
        Arg::new("domain")
            .long("domain")
            .value_name("DOMAIN")
            .help("With --discovery dns:…, the domain of the records (NAME._circuit._tcp.DOMAIN, or a Kubernetes NAMESPACE.svc.cluster.local)"),
    ]
}

/// Applies `--discovery` and `--domain` to this process.
///
/// # Errors
/// [`Error::Setup`](crate::Error::Setup) (exit 2) for a malformed choice.
pub fn apply_discovery(matches: &mut ArgMatches) -> crate::Result<()> {
    let discovery: Option<String> = optional(matches, "discovery");
    let domain: Option<String> = optional(matches, "domain");
    match discovery.as_deref() {
        None | Some("mdns") => {
            if domain.is_some() {
                return Err(crate::Error::Setup(
                    "--domain goes with --discovery dns:SERVER".to_owned(),
                ));
            }
            Ok(())
        }
        Some(choice) => {
            let server = DnsServer::parse(choice, domain.as_deref().unwrap_or(""))
                .map_err(crate::Error::Setup)?;
            unicast::use_server(server);
            Ok(())
        }
    }
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

/// The `--web ADDR` flag: serve the live logic-analyzer page.
pub fn web_arg() -> Arg {
    Arg::new("web")
        .long("web")
        .value_name("ADDR")
        .help("Serve a live logic-analyzer page on ADDR (such as 127.0.0.1:8080); it stays up after the run until Ctrl-C")
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
    Ok(from_matches::<S>(&mut matches))
}

/// Sketch `S` and its options from its subcommand's parsed flags.
pub(crate) fn from_matches<S: Sketch>(matches: &mut ArgMatches) -> (S, Options) {
    let options = options_from::<S>(matches);
    let sketch = S::from_settings(&mut values_from::<S>(matches));
    (sketch, options)
}

/// Reads a non-negative, finite number of seconds, fractions allowed (a flag's value parser).
pub fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text.parse().map_err(|err| format!("{err}"))?;
    Duration::try_from_secs_f64(value).map_err(|_| format!("{text} is not a number of seconds ≥ 0"))
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
