//! Every flag of every command, each defined once, in groups that commands
//! compose: where a sketch serves or sends (`target`), what a server accepts
//! and whether it is announced (`server`), how links deliver (`links`),
//! certificates (`tls`), how names are resolved (`discovery`), replaying a
//! recording (`replay`), the shared secret (`token`), and how a run is
//! watched and wired (`run`). Each group gives its flags (`*_args`) and reads
//! them back; a default shown in help comes from the code, never typed.

pub(crate) mod discovery;
pub(crate) mod links;
pub(crate) mod replay;
pub(crate) mod run;
pub(crate) mod server;
pub(crate) mod target;
pub(crate) mod tls;
pub(crate) mod token;

use std::fmt::Display;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches};

/// The headings of `--help`: a command lists its own flags first (a
/// sketch's settings, under clap's "Options"), then the framework's, one
/// heading per group.
pub(crate) mod heading {
    /// Where a server serves, what it accepts, whether it is announced (`server`, `target`).
    pub(crate) const SERVER: &str = "Server options";
    /// Where a timer sends (`target`).
    pub(crate) const TARGET: &str = "Target options";
    /// How links and timers deliver (`links`).
    pub(crate) const LINK: &str = "Link options";
    /// How names are resolved (`discovery`).
    pub(crate) const DISCOVERY: &str = "Discovery options";
    /// Certificates and the shared secret (`tls`, `token`).
    pub(crate) const TLS: &str = "TLS and token options";
    /// Replaying a recording (`replay`).
    pub(crate) const REPLAY: &str = "Replay options";
    /// How a run is watched and wired (`run`).
    pub(crate) const RUN: &str = "Run options";
}

/// The flag `--long`, whose id is its long name.
pub(crate) fn flag(long: &'static str) -> Arg {
    Arg::new(long).long(long)
}

/// A flag that is on or off: `--long`.
pub(crate) fn switch(long: &'static str) -> Arg {
    flag(long).action(ArgAction::SetTrue)
}

/// A flag whose value is a number of seconds, fractions allowed.
pub(crate) fn seconds_flag(long: &'static str) -> Arg {
    flag(long).value_name("SECONDS").value_parser(seconds)
}

/// `help`, then the default the code uses: "… [default: 10]".
pub(crate) fn with_default(help: &str, default: impl Display) -> String {
    format!("{help} [default: {default}]")
}

/// A duration as a flag writes it: `10`, `0.25`.
pub(crate) fn in_seconds(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    format!("{seconds}")
}

/// The value of a flag that only some commands have.
pub(crate) fn optional<T: Clone + Send + Sync + 'static>(
    matches: &mut ArgMatches,
    id: &str,
) -> Option<T> {
    matches.try_remove_one(id).ok().flatten()
}

/// Whether a switch that only some commands have was given.
pub(crate) fn switched(matches: &ArgMatches, id: &str) -> bool {
    matches
        .try_get_one::<bool>(id)
        .ok()
        .flatten()
        .copied()
        .unwrap_or(false)
}

/// Reads a non-negative, finite number of seconds, fractions allowed (a flag's value parser).
///
/// # Errors
/// Text that is no such number, in words.
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

    #[test]
    fn defaults_are_shown_as_a_flag_writes_them() {
        assert_eq!(in_seconds(Duration::from_secs(10)), "10");
        assert_eq!(in_seconds(Duration::from_millis(250)), "0.25");
        assert_eq!(with_default("Wait", 10), "Wait [default: 10]");
    }
}
