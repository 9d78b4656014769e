//! A sketch kind as a circuit file sees it: its name, its settings, and how
//! to start one from values read from the file instead of the command line.

use std::any::TypeId;

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
        }
    }

    /// Its setting whose flag is `--long`, if any.
    pub(crate) fn setting(&self, long: &str) -> Option<&'static Setting> {
        self.settings.iter().find(|setting| setting.long == long)
    }
}
