//! The command line of a sketch: its subcommand (the groups of common flags
//! of `flags` that its role needs, then its own settings as flags) and how
//! parsed flags become a sketch and its options.

use std::ffi::OsString;

use clap::builder::ValueParser;
use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::app::flags::links::{self, Scope};
use crate::app::flags::replay::{self, Fed};
use crate::app::flags::token::{self, Held};
use crate::app::flags::{discovery, heading, optional, run, server, target, tls};
use crate::base::options::Options;
use crate::base::settings::{Parsed, Setting, Values};
use crate::base::sketch::{Runs, Sketch};

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
        values.set_seed(matches.remove_one(run::SEED));
    }
    values
}

/// The common options of sketch `S` from its parsed flags.
fn options_from<S: Sketch>(matches: &mut ArgMatches) -> Options {
    let mut options = Options::defaults(S::PORT);
    target::read(matches, &mut options);
    options.quiet = matches.get_flag(run::QUIET);
    options.vcd = optional(matches, run::VCD);
    options.token = token::token(matches);
    options.limits = server::limits(matches);
    options.links = links::link_options(matches);
    options.retain = links::retained(matches, S::SETTINGS);
    options.stop_timeout = links::stop_timeout(matches);
    options.spool = links::spool(matches);
    options.spool_max = links::spool_max(matches);
    options.advertise = server::advertise(matches);
    server::subscriptions(matches, &mut options);
    options.tls = tls::tls_files(matches);
    options
}

/// The subcommand of sketch `S`: its own settings first, then the common
/// flags it needs, under a heading per group.
pub fn command<S: Sketch>() -> Command {
    let serves = <S::Role as Runs<S>>::SERVES;
    // A timer dials its server; a sketch with links dials theirs.
    let dials = S::LINKED || !serves;
    let defaults = Options::defaults(S::PORT);
    let command = Command::new(S::NAME).about(S::ABOUT);
    let mut command = S::SETTINGS.iter().fold(command, |command, setting| {
        command.arg(setting_arg(setting, None))
    });
    command = if serves {
        command
            .next_help_heading(heading::SERVER)
            .args(target::address_args(serves, &defaults))
            .args(server::limit_args())
            .args(server::advertise_args())
            .args(server::subscribe_args())
    } else {
        command
            .next_help_heading(heading::TARGET)
            .args(target::address_args(serves, &defaults))
            .args(target::timer_args(&defaults))
    };
    command = command.next_help_heading(heading::LINK);
    if dials {
        command = command.arg(links::ack_timeout_arg(Scope::One));
    }
    if S::LINKED {
        command = command.args(links::window_args());
        command = command.args(links::retain_arg(S::SETTINGS));
    }
    if S::LINKED || serves {
        command = command
            .arg(links::spool_arg(Scope::One))
            .arg(links::spool_max_arg(Scope::One));
    }
    command = command.arg(links::stop_timeout_arg());
    if dials {
        command = command
            .next_help_heading(heading::DISCOVERY)
            .args(discovery::discovery_args())
            .arg(links::resolve_timeout_arg(Scope::One));
    }
    command = command
        .next_help_heading(heading::TLS)
        .arg(token::token_arg(Held::BySketch))
        .args(tls::tls_args(serves, dials));
    if serves {
        command = command
            .next_help_heading(heading::REPLAY)
            .args(replay::replay_args(Fed::Sketch));
    }
    command = command
        .next_help_heading(heading::RUN)
        .arg(run::quiet_arg())
        .arg(run::vcd_arg())
        .arg(run::metrics_arg())
        .args(run::mqtt_args());
    if S::SEEDED {
        command = command.arg(run::seed_arg());
    }
    command
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

/// The options of sketch `S` from framework flags given as its subcommand
/// takes them (`args` starts with its name), the others at their defaults;
/// a flag given again overrides the earlier one, so that a sketch's own
/// value in a circuit can follow one given to every sketch.
///
/// # Errors
/// clap's error for a flag it does not have or a value that does not parse.
pub(crate) fn options_of<S: Sketch>(args: Vec<OsString>) -> Result<Options, clap::Error> {
    let mut matches = command::<S>()
        .args_override_self(true)
        .try_get_matches_from(args)?;
    Ok(options_from::<S>(&mut matches))
}

/// Sketch `S` and its options from its subcommand's parsed flags.
pub(crate) fn from_matches<S: Sketch>(matches: &mut ArgMatches) -> (S, Options) {
    let options = options_from::<S>(matches);
    let sketch = S::from_settings(&mut values_from::<S>(matches));
    (sketch, options)
}
