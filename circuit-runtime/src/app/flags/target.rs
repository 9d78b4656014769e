//! Where a sketch serves, or where a timer sends: `-s/--socket`,
//! `-p/--port`, and for a timer `--to` and `--retry-for`.

use clap::{value_parser, Arg, ArgMatches};

use crate::app::flags::{flag, in_seconds, optional, seconds_flag, with_default};
use crate::base::options::Options;
use crate::net::find::address::Address;

/// `-s/--socket HOST`.
pub(crate) const SOCKET: &str = "socket";
/// `-p/--port PORT`.
pub(crate) const PORT: &str = "port";
/// `--to NAME|URL`, a timer's target instead of `-s`/`-p`.
pub(crate) const TO: &str = "to";
/// `--retry-for SECONDS`, how long a timer tries to reach its server.
pub(crate) const RETRY_FOR: &str = "retry-for";

/// `-s` and `-p` of a sketch that serves (or, for a timer, sends) on
/// `defaults`' host and port.
pub(crate) fn address_args(serves: bool, defaults: &Options) -> [Arg; 2] {
    let (socket, port) = if serves {
        (
            "Host or address to serve on",
            "Port to serve on; 0 picks a free one",
        )
    } else {
        // A timer serves nothing: its host and port are its server's.
        (
            "Host or address of the server the ticks go to",
            "Port of the server the ticks go to (a timer has no port of its own)",
        )
    };
    [
        flag(SOCKET)
            .short('s')
            .value_name("HOST")
            .help(with_default(socket, &defaults.socket)),
        flag(PORT)
            .short('p')
            .value_name("PORT")
            .value_parser(value_parser!(u16))
            .help(with_default(port, defaults.port)),
    ]
}

/// A timer's `--retry-for` and `--to`.
pub(crate) fn timer_args(defaults: &Options) -> [Arg; 2] {
    [
        seconds_flag(RETRY_FOR).help(with_default(
            "How long to keep trying to reach the server",
            in_seconds(defaults.retry_for),
        )),
        flag(TO)
            .value_name("NAME|URL")
            .value_parser(|text: &str| Address::parse(text).map(|_| text.to_owned()))
            .conflicts_with_all([SOCKET, PORT])
            .help("Where to send: a sketch's name, found by DNS-SD, or a ws:// or wss:// URL (instead of -s/-p)"),
    ]
}

/// Puts the given host, port, target and patience into `options`.
pub(crate) fn read(matches: &mut ArgMatches, options: &mut Options) {
    if let Some(socket) = optional(matches, SOCKET) {
        options.socket = socket;
    }
    if let Some(port) = optional(matches, PORT) {
        options.port = port;
    }
    if let Some(retry_for) = optional(matches, RETRY_FOR) {
        options.retry_for = retry_for;
    }
    options.to = optional(matches, TO);
}
