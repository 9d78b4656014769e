//! A sketch kind as a circuit file sees it: its name, its settings, its
//! command line (whose framework flags a circuit sets per sketch), and how
//! to start one from values read from the file instead of the command line.

use std::any::TypeId;
use std::ffi::OsString;

use clap::Command;

use crate::app::command::{command, options_of};
use crate::base::options::Options;
use crate::base::settings::{Setting, Values};
use crate::base::sketch::{Runs, Sketch, Starting};
use crate::base::wiring::MessageType;

/// Starts one sketch of a kind from its settings' values.
type Start = fn(&mut Values, Options, Option<std::net::TcpListener>) -> Starting;

/// One kind of sketch that a program (an `App`) can build.
#[derive(Clone, Copy)]
pub(crate) struct Kind {
    /// The sketch's type.
    pub(crate) id: TypeId,
    /// Its name: the subcommand, and `kind = "…"` in a circuit file.
    pub(crate) name: &'static str,
    /// Its own settings.
    pub(crate) settings: &'static [Setting],
    /// Whether it serves peers (else it is a timer, which sends to one).
    pub(crate) serves: bool,
    /// Whether it draws random numbers, and so takes the circuit's seed.
    pub(crate) seeded: bool,
    /// What its loop takes, for a server.
    pub(crate) takes: Option<MessageType>,
    /// What it sends, for a timer.
    pub(crate) sends: Option<MessageType>,
    /// Builds and starts one.
    pub(crate) start: Start,
    /// Its command line as a sketch alone has it: the framework's flags, then its settings.
    pub(crate) command: fn() -> Command,
    /// Its options from framework flags, given as its command line takes
    /// them (after its name); a flag given again overrides the earlier one.
    pub(crate) options: fn(Vec<OsString>) -> Result<Options, clap::Error>,
}

impl Kind {
    /// The kind of sketch `S`.
    pub(crate) fn of<S: Sketch>() -> Self {
        Kind {
            id: TypeId::of::<S>(),
            name: S::NAME,
            settings: S::SETTINGS,
            serves: <S::Role as Runs<S>>::SERVES,
            seeded: S::SEEDED,
            takes: <S::Role as Runs<S>>::TAKES,
            sends: <S::Role as Runs<S>>::SENDS,
            start: |values, options, listener| {
                let sketch = S::from_settings(values);
                <S::Role as Runs<S>>::start(sketch, options, listener)
            },
            command: command::<S>,
            options: options_of::<S>,
        }
    }

    /// Its setting whose flag is `--long`, if any.
    pub(crate) fn setting(&self, long: &str) -> Option<&'static Setting> {
        self.settings.iter().find(|setting| setting.long == long)
    }

    /// The kind of a program a circuit file starts (`command = [...]`): a
    /// server when its command takes a `{port}`, else a client that sends
    /// (as a timer does). It has no settings and no framework options: its
    /// table's keys are read by `command_sketch`, and its supervisor, not
    /// `start`, runs it.
    pub(crate) fn command(serves: bool) -> Self {
        Kind {
            id: if serves {
                TypeId::of::<CommandServer>()
            } else {
                TypeId::of::<CommandClient>()
            },
            name: COMMAND,
            settings: &[],
            serves,
            seeded: false,
            // What a command sketch takes is its own (`takes = "…"`), checked by the file.
            takes: serves.then_some(MessageType::ANY_TEXT),
            sends: (!serves).then_some(MessageType::ANY_TEXT),
            start: |_, _, _| {
                Box::pin(async {
                    Err(crate::base::error::Error::Setup(
                        "a command sketch is started by its supervisor".to_owned(),
                    ))
                })
            },
            command: || Command::new(COMMAND),
            options: |_| Ok(Options::defaults(0)),
        }
    }

    /// Whether it is the kind of a program a circuit file starts.
    pub(crate) fn is_command(&self) -> bool {
        self.id == TypeId::of::<CommandServer>() || self.id == TypeId::of::<CommandClient>()
    }
}

/// The type that tells a command server's kind from every sketch type's.
enum CommandServer {}

/// The type that tells a command client's kind from every sketch type's.
enum CommandClient {}

/// The name of the kind of a program a circuit file starts, in `ls` and DNS-SD.
pub(crate) const COMMAND: &str = "command";

/// The kinds a circuit file is read against and run with: the program's
/// own, then the two of a command sketch (a server, a client) last, so that
/// the program's keep their places.
pub(crate) fn for_files(kinds: &[Kind]) -> Vec<Kind> {
    let mut all = kinds.to_vec();
    all.extend([Kind::command(true), Kind::command(false)]);
    all
}

/// Kinds made by hand, for the tests of circuits: a pin with a link and a
/// setting, and a buzzer that takes levels, each with the framework's flags
/// a sketch of its role has (and the way they become its options).
#[cfg(test)]
pub(crate) mod made {
    use std::ffi::OsString;
    use std::sync::Arc;

    use clap::Command;

    use super::Kind;
    use crate::app::flags::links::{self, Scope};
    use crate::app::flags::{run, server, target};
    use crate::base::error::Error;
    use crate::base::options::Options;
    use crate::base::settings::{Parsed, Setting};
    use crate::base::wiring::MessageType;

    /// A setting's parser that takes any text.
    fn text(text: &str) -> Result<Parsed, String> {
        Ok(Arc::new(text.to_owned()))
    }

    /// A setting's parser that takes whole numbers.
    fn number(text: &str) -> Result<Parsed, String> {
        text.parse::<u64>()
            .map(|number| Arc::new(number) as Parsed)
            .map_err(|err| err.to_string())
    }

    /// The pin's settings: `sequence`, and the link `buzzer` with a default URL.
    const PIN: &[Setting] = &[
        Setting {
            id: "sequence",
            long: "sequence",
            short: None,
            value_name: "SEQUENCE",
            help: "Bits drawn per tick.",
            default: Some("3"),
            switch: false,
            repeats: false,
            link: None,
            parse: number,
        },
        Setting {
            id: "buzzer",
            long: "buzzer",
            short: None,
            value_name: "URL",
            help: "Where the levels go.",
            default: Some("ws://localhost:8766/pin"),
            switch: false,
            repeats: false,
            link: Some(MessageType::of::<u8>()),
            parse: text,
        },
    ];

    /// The command line of a server with links, as `command` composes it.
    fn command() -> Command {
        let defaults = Options::defaults(0);
        Command::new("made")
            .args(target::address_args(true, &defaults))
            .arg(run::quiet_arg())
            .args(server::limit_args())
            .arg(links::ack_timeout_arg(Scope::One))
            .args(links::window_args())
            .arg(links::stop_timeout_arg())
    }

    /// Its options, read as `options_from` reads them.
    fn options(line: Vec<OsString>) -> Result<Options, clap::Error> {
        let mut matches = command()
            .args_override_self(true)
            .try_get_matches_from(line)?;
        let mut options = Options::defaults(0);
        options.limits = server::limits(&mut matches);
        options.links = links::link_options(&mut matches);
        options.stop_timeout = links::stop_timeout(&mut matches);
        Ok(options)
    }

    /// A kind that serves: `settings`, taking `takes`.
    fn serving(name: &'static str, settings: &'static [Setting], takes: MessageType) -> Kind {
        Kind {
            id: std::any::TypeId::of::<()>(),
            name,
            settings,
            serves: true,
            seeded: false,
            takes: Some(takes),
            sends: None,
            start: |_, _, _| Box::pin(async { Err(Error::Setup("made by hand".to_owned())) }),
            command,
            options,
        }
    }

    /// The pin and the buzzer.
    pub(crate) fn pin_and_buzzer() -> Vec<Kind> {
        vec![
            serving("pin", PIN, MessageType::ANY_TEXT),
            serving("buzzer", &[], MessageType::of::<u8>()),
        ]
    }
}
