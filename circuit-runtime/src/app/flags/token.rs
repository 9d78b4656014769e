//! The shared secret: `--token SECRET`, or the `CIRCUIT_TOKEN` variable.

use clap::{Arg, ArgMatches};

use crate::app::flags::{flag, optional};
use crate::base::options::{Token, TOKEN_VAR};

/// `--token SECRET`.
pub(crate) const TOKEN: &str = "token";

/// Whose secret the token is, for its help.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    /// A sketch's: servers ask for it, clients and links present it.
    BySketch,
    /// The probe's: the sketch it talks to asks for it.
    ByProbe,
}

/// `--token`.
pub(crate) fn token_arg(held: Held) -> Arg {
    let help = match held {
        Held::BySketch => "Shared secret: servers refuse peers without it, clients send it",
        Held::ByProbe => "Shared secret the sketch asks for",
    };
    flag(TOKEN)
        .value_name("SECRET")
        .help(format!("{help} [env: {TOKEN_VAR}]"))
}

/// `--token`, else `CIRCUIT_TOKEN`; an empty secret is none.
pub(crate) fn token(matches: &mut ArgMatches) -> Option<Token> {
    optional::<String>(matches, TOKEN)
        .or_else(|| std::env::var(TOKEN_VAR).ok())
        .filter(|secret| !secret.is_empty())
        .map(Token::new)
}
