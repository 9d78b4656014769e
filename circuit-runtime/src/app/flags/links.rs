//! How links deliver, and how long a stop may take to let them:
//! `--link-attempts`, `--link-window`, `--ack-timeout`, `--resolve-timeout`,
//! `--stop-timeout`, `--retain`, `--when-full`, `--spool`, `--spool-max`.

use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, ArgMatches};

use crate::app::flags::{flag, in_seconds, optional, seconds_flag, with_default};
use crate::base::options::{LinkOptions, Options, WhenFull};
use crate::base::settings::Setting;

/// `--link-attempts N`.
pub(crate) const LINK_ATTEMPTS: &str = "link-attempts";
/// `--link-window N`.
pub(crate) const LINK_WINDOW: &str = "link-window";
/// `--ack-timeout SECONDS`.
pub(crate) const ACK_TIMEOUT: &str = "ack-timeout";
/// `--resolve-timeout SECONDS`.
pub(crate) const RESOLVE_TIMEOUT: &str = "resolve-timeout";
/// `--stop-timeout SECONDS`.
pub(crate) const STOP_TIMEOUT: &str = "stop-timeout";
/// `--retain LINK`.
pub(crate) const RETAIN: &str = "retain";
/// `--when-full wait|drop`.
pub(crate) const WHEN_FULL: &str = "when-full";
/// `--spool DIR`.
pub(crate) const SPOOL: &str = "spool";
/// `--spool-max BYTES`.
pub(crate) const SPOOL_MAX: &str = "spool-max";

/// Whom a flag of a command is about: its one sketch, or every sketch it runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The command runs one sketch (or is the probe).
    One,
    /// The command runs a circuit: the flag applies to each of its sketches.
    Every,
}

impl Scope {
    /// `help` as this scope says it: "Every sketch here: drop a peer …".
    fn says(self, help: &str) -> String {
        match self {
            Scope::One => help.to_owned(),
            Scope::Every => {
                let mut letters = help.chars();
                let first = letters.next().map(|c| c.to_lowercase().to_string());
                format!(
                    "Every sketch here: {}{}",
                    first.unwrap_or_default(),
                    letters.as_str()
                )
            }
        }
    }
}

/// A linked sketch's `--link-attempts`, `--link-window` and `--when-full`.
pub(crate) fn window_args() -> [Arg; 3] {
    let links = LinkOptions::default();
    [
        flag(LINK_ATTEMPTS)
            .value_name("N")
            .value_parser(clap::value_parser!(u32).range(1..))
            .help(with_default(
                "Connections that may end on one message before it is dead-lettered",
                links.attempts,
            )),
        flag(LINK_WINDOW)
            .value_name("N")
            .value_parser(clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65_536))
            .help(with_default(
                "Messages a link sends before the first is acknowledged",
                links.window,
            )),
        flag(WHEN_FULL)
            .value_name("WHAT")
            .value_parser(["wait", "drop"])
            .help("What a send does when its link's queue is full: `wait` for room (a slow or absent peer slows the sketch; the default), or `drop` the message, counted"),
    ]
}

/// `--ack-timeout`: a silent peer dropped, and what it held sent again.
pub(crate) fn ack_timeout_arg(scope: Scope) -> Arg {
    seconds_flag(ACK_TIMEOUT).help(with_default(
        &scope.says("Drop a peer that leaves a message unacknowledged this long, and resend"),
        in_seconds(LinkOptions::default().ack_timeout),
    ))
}

/// `--resolve-timeout`: how long a name may take to answer.
pub(crate) fn resolve_timeout_arg(scope: Scope) -> Arg {
    seconds_flag(RESOLVE_TIMEOUT).help(with_default(
        &scope.says("How long a sketch's name may take to answer on the network"),
        in_seconds(LinkOptions::default().resolve_timeout),
    ))
}

/// `--stop-timeout`: how long a stop may take to deliver what links hold.
pub(crate) fn stop_timeout_arg() -> Arg {
    seconds_flag(STOP_TIMEOUT).help(with_default(
        "How long a stop may take to deliver what the links still hold",
        in_seconds(Options::STOP_TIMEOUT),
    ))
}

/// `--spool DIR`: each link keeps what is not acknowledged in a file there,
/// and a server what its loop processed.
pub(crate) fn spool_arg(scope: Scope) -> Arg {
    flag(SPOOL)
        .value_name("DIR")
        .value_parser(clap::value_parser!(std::path::PathBuf))
        .help(scope.says(
            "Keep on disk under DIR what each link was given and not yet acknowledged (SKETCH.LINK.spool, synced before `send` returns; a restart resends it first), and the server's memory of what its loop processed (SKETCH.processed, synced before an acknowledgement goes out; a restart answers a resent message from it)",
        ))
}

/// `--spool-max BYTES`: how much a link's spool holds before `send` waits.
pub(crate) fn spool_max_arg(scope: Scope) -> Arg {
    flag(SPOOL_MAX)
        .value_name("BYTES")
        .value_parser(clap::value_parser!(u64).range(1..))
        .help(with_default(
            &scope.says("With --spool, how many bytes of unacknowledged messages each link keeps on disk (beyond what fits its queue in memory) before `send` waits"),
            Options::SPOOL_MAX,
        ))
}

/// `--spool-max`, or its default.
pub(crate) fn spool_max(matches: &mut ArgMatches) -> u64 {
    optional(matches, SPOOL_MAX).unwrap_or(Options::SPOOL_MAX)
}

/// `--spool`, if given.
pub(crate) fn spool(matches: &mut ArgMatches) -> Option<std::path::PathBuf> {
    optional(matches, SPOOL)
}

/// `--retain LINK`, repeatable, for a sketch whose link settings are
/// `settings`' links: `None` when it has none.
pub(crate) fn retain_arg(settings: &[Setting]) -> Option<Arg> {
    let links: Vec<&'static str> = settings
        .iter()
        .filter(|setting| setting.link.is_some())
        .map(|setting| setting.long)
        .collect();
    (!links.is_empty()).then(|| {
        flag(RETAIN)
            .value_name("LINK")
            .action(ArgAction::Append)
            .value_parser(PossibleValuesParser::new(links))
            .help("Keep this link's last delivered message and send it first on every new connection, for a peer that restarted (repeatable)")
    })
}

/// The fields of the link settings named by `--retain`, from `settings`.
pub(crate) fn retained(matches: &mut ArgMatches, settings: &[Setting]) -> Vec<&'static str> {
    let named: Vec<String> = matches
        .try_remove_many(RETAIN)
        .ok()
        .flatten()
        .map(Iterator::collect)
        .unwrap_or_default();
    settings
        .iter()
        .filter(|setting| named.iter().any(|name| name == setting.long))
        .map(|setting| setting.id)
        .collect()
}

/// How links deliver, from the flags the command has; the rest at their defaults.
pub(crate) fn link_options(matches: &mut ArgMatches) -> LinkOptions {
    let defaults = LinkOptions::default();
    LinkOptions {
        attempts: optional(matches, LINK_ATTEMPTS).unwrap_or(defaults.attempts),
        ack_timeout: optional(matches, ACK_TIMEOUT).unwrap_or(defaults.ack_timeout),
        window: optional(matches, LINK_WINDOW).unwrap_or(defaults.window),
        resolve_timeout: optional(matches, RESOLVE_TIMEOUT).unwrap_or(defaults.resolve_timeout),
        when_full: match optional::<String>(matches, WHEN_FULL).as_deref() {
            Some("drop") => WhenFull::Drop,
            _ => defaults.when_full,
        },
    }
}

/// `--stop-timeout`, or its default.
pub(crate) fn stop_timeout(matches: &mut ArgMatches) -> std::time::Duration {
    optional(matches, STOP_TIMEOUT).unwrap_or(Options::STOP_TIMEOUT)
}
