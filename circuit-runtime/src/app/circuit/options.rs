//! The framework's options of one sketch in a circuit: the flags of a
//! sketch's own command line (`--ping-interval`, `--link-attempts`, …) that a
//! circuit sets per sketch, by their names. Found in the sketch's command and
//! read by the flags' own parsers, so that a flag added to a sketch's command
//! line is a key of its table with no code of its own. What the circuit
//! decides for all its sketches (where each serves and sends, `-q`,
//! `--seed`, `--vcd`, `--mqtt`, TLS, discovery, a replay) stays the circuit's.

use std::error::Error as _;
use std::ffi::{OsStr, OsString};

use clap::{Arg, ArgAction, ArgMatches};

use crate::app::flags::{discovery, replay, run, server, target, tls, token};
use crate::app::kind::Kind;

/// The flags of a sketch's command line that a circuit decides, not a
/// sketch's table: where it serves or sends (the circuit places it); the
/// run's own flags (one for the whole run: `-q`, `--vcd`, `--metrics`,
/// `--seed`, a replay); its advertisement (decided by its placement); certificates,
/// tokens and name resolution (one per process).
const THE_CIRCUITS: &[&str] = &[
    target::SOCKET,
    target::PORT,
    target::TO,
    run::QUIET,
    run::VCD,
    run::METRICS,
    run::MQTT,
    run::HOME_ASSISTANT,
    run::SEED,
    replay::REPLAY,
    replay::REALTIME,
    replay::CHECK,
    server::ADVERTISE,
    server::NO_ADVERTISE,
    tls::TLS_CERT,
    tls::TLS_KEY,
    tls::CLIENT_CA,
    tls::CA,
    tls::ALLOW_PLAINTEXT_TOKEN,
    token::TOKEN,
    discovery::DISCOVERY,
    discovery::DOMAIN,
    "help",
];

/// The framework's flag `--long` of `kind`'s command line that a circuit may
/// set for one sketch of that kind, if it is one. A setting of the sketch's
/// own never has such a name: `#[sketch]` refuses every framework flag's.
pub(crate) fn option(kind: &Kind, long: &str) -> Option<Arg> {
    if kind.setting(long).is_some() || THE_CIRCUITS.contains(&long) {
        return None;
    }
    (kind.command)()
        .get_arguments()
        .find(|arg| arg.get_long() == Some(long))
        .cloned()
}

/// The names of every option a circuit may set for a sketch of `kind`, in
/// the order of its `--help`.
pub(crate) fn names(kind: &Kind) -> Vec<String> {
    (kind.command)()
        .get_arguments()
        .filter_map(Arg::get_long)
        .filter(|long| kind.setting(long).is_none() && !THE_CIRCUITS.contains(long))
        .map(str::to_owned)
        .collect()
}

/// Whether option `arg` is a switch: given alone (`true`) or not at all (`false`).
pub(crate) fn is_switch(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse)
}

/// Whether option `arg` takes several values (a list in a file).
pub(crate) fn repeats(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append)
}

/// The command-line words that give option `arg` of `kind` the values
/// `texts`, each checked by the flag's own parser: `--ping-interval=1`; for
/// a switch, `--flag` for `true` and nothing for `false`.
///
/// # Errors
/// The first text the parser refuses, and why.
pub(crate) fn words(kind: &Kind, arg: &Arg, texts: &[String]) -> Result<Vec<String>, Refused> {
    let long = arg.get_long().unwrap_or_default();
    let mut words = Vec::new();
    for text in texts {
        if is_switch(arg) {
            match text.as_str() {
                "true" => words.push(format!("--{long}")),
                "false" => {}
                _ => {
                    return Err(Refused {
                        text: text.clone(),
                        why: "a switch is `true` or `false`".to_owned(),
                    })
                }
            }
            continue;
        }
        // One word, so that a value such as `-1` is never taken for a flag.
        let word = format!("--{long}={text}");
        if let Err(err) = (kind.command)().try_get_matches_from([kind.name, word.as_str()]) {
            let possible: Vec<String> = arg
                .get_possible_values()
                .iter()
                .map(|value| format!("`{}`", value.get_name()))
                .collect();
            // The parser's own words, without clap's framing around them.
            let why = err.source().map_or_else(
                || match possible.is_empty() {
                    // A choice among names (`--retain LINK`): say which.
                    false => format!("it is one of {}", possible.join(", ")),
                    true => err
                        .to_string()
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .trim_start_matches("error: ")
                        .to_owned(),
                },
                ToString::to_string,
            );
            return Err(Refused {
                text: text.clone(),
                why,
            });
        }
        words.push(word);
    }
    Ok(words)
}

/// A value an option's parser refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refused {
    /// The value as given.
    pub(crate) text: String,
    /// Why, in the parser's words.
    pub(crate) why: String,
}

/// The flags given on a circuit's command line that set an option of its
/// sketches (`up --ack-timeout 3`), with their values as typed: each sketch
/// that has the option takes them before its own.
pub(crate) fn for_every_sketch(matches: &ArgMatches, kinds: &[Kind]) -> Every {
    let given = matches.ids().filter(|id| {
        matches.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
    });
    given
        .filter(|id| kinds.iter().any(|kind| option(kind, id.as_str()).is_some()))
        .map(|id| {
            let values = matches
                .get_raw(id.as_str())
                .map(|raw| raw.map(OsStr::to_owned).collect())
                .unwrap_or_default();
            (id.as_str().to_owned(), values)
        })
        .collect()
}

/// Options given for every sketch: each flag's name and its values as typed.
pub(crate) type Every = Vec<(String, Vec<OsString>)>;

/// The command line of one sketch of `kind` for its options: its name, the
/// options given for every sketch that it has, then its own (`own`, words
/// checked by [`words`]), which override them.
pub(crate) fn command_line(kind: &Kind, every: &Every, own: &[String]) -> Vec<OsString> {
    let mut line = vec![OsString::from(kind.name)];
    for (long, values) in every {
        if option(kind, long).is_none() {
            continue;
        }
        if values.is_empty() {
            line.push(format!("--{long}").into());
        }
        for value in values {
            let mut word = OsString::from(format!("--{long}="));
            word.push(value);
            line.push(word);
        }
    }
    line.extend(own.iter().map(OsString::from));
    line
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::app::kind::made;

    #[test]
    fn an_option_is_a_flag_of_the_sketch_that_the_circuit_does_not_decide() {
        let kinds = made::pin_and_buzzer();
        let pin = &kinds[0];
        for long in [
            "ping-interval",
            "ack-timeout",
            "link-window",
            "stop-timeout",
        ] {
            assert!(option(pin, long).is_some(), "{long}");
        }
        for long in ["port", "socket", "quiet", "sequence", "buzzer", "nothing"] {
            assert!(option(pin, long).is_none(), "{long}");
        }
        assert!(names(pin).contains(&"max-clients".to_owned()));
        assert!(!names(pin).contains(&"quiet".to_owned()));
    }

    #[test]
    fn values_are_read_by_the_flags_own_parsers() {
        let kinds = made::pin_and_buzzer();
        let pin = &kinds[0];
        let check = |long: &str, text: &str| {
            let arg = option(pin, long).unwrap();
            words(pin, &arg, &[text.to_owned()])
        };
        assert_eq!(
            check("ping-interval", "1"),
            Ok(vec!["--ping-interval=1".to_owned()])
        );
        assert_eq!(check("ping-interval", "-1").unwrap_err().text, "-1");
        assert_eq!(
            check("ping-interval", "soon").unwrap_err().why,
            "invalid float literal"
        );
        assert_eq!(
            check("link-window", "0").unwrap_err().why,
            "0 is not in 1..=65536"
        );
    }

    #[test]
    fn a_sketchs_own_option_overrides_the_one_given_for_every_sketch() {
        let kinds = made::pin_and_buzzer();
        let pin = &kinds[0];
        let every: Every = vec![
            ("ack-timeout".to_owned(), vec!["3".into()]),
            ("retry-for".to_owned(), vec!["1".into()]), // a timer's: not the pin's
        ];
        let read = |own: &[&str]| {
            let own: Vec<String> = own.iter().map(|word| (*word).to_owned()).collect();
            (pin.options)(command_line(pin, &every, &own)).unwrap()
        };
        assert_eq!(read(&[]).links.ack_timeout, Duration::from_secs(3));
        let own = read(&["--ack-timeout=5", "--ping-interval=1"]);
        assert_eq!(own.links.ack_timeout, Duration::from_secs(5));
        assert_eq!(own.limits.ping_interval, Duration::from_secs(1));
    }
}
