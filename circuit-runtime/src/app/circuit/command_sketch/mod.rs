//! Command sketches: programs a circuit file starts, wires and supervises
//! although this program did not compile them (a sketch in Python, say).
//!
//! ```toml
//! [sketches.pin]
//! command = ["python3", "pin.py", "--port", "{port}", "--buzzer", "{url:buzzer/pin}"]
//! restart = "on-failure"   # never | on-failure (the default) | always
//! ```
//!
//! What its table says, checked with the rest of the file (`written`); its
//! words' placeholders (`placeholder`), filled in when it starts (`launch`); one run of the program, in a process
//! group of its own, its output in the log (`child`); and the supervisor
//! that starts it, waits until it is ready, restarts it and stops it
//! (`supervisor`, the `commands` feature; a build without it has
//! `supervisor_absent.rs` in its place, and its files refuse command sketches).

#[cfg(feature = "commands")]
mod child;
mod launch;
pub(crate) mod placeholder;
#[cfg(feature = "commands")]
mod supervisor;
#[cfg(not(feature = "commands"))]
#[path = "supervisor_absent.rs"]
mod supervisor;
pub(crate) mod written;

use std::path::PathBuf;
use std::time::Duration;

use crate::base::wiring::MessageType;
use placeholder::{Piece, Word};

pub(crate) use launch::{start_in, Around};
use supervisor::{start, Filled, Launch, Started};

/// A command sketch as its table writes it, checked.
#[derive(Clone, Debug)]
pub(crate) struct CommandSketch {
    /// The program and its arguments, placeholders unfilled.
    pub(crate) command: Vec<Word>,
    /// The program, found when the file was checked (on `path`, then `PATH`).
    pub(crate) program: PathBuf,
    /// Variables added to its environment, placeholders unfilled.
    pub(crate) env: Vec<(String, Word)>,
    /// Directories put before `PATH`, for the program and its own children.
    pub(crate) path: Vec<PathBuf>,
    /// Where it runs: `dir`, or the circuit file's directory.
    pub(crate) dir: PathBuf,
    /// When it is started again after it ends.
    pub(crate) restart: Restart,
    /// A line it prints once it listens (a part of it); else, for a server,
    /// its port accepting a connection says it is ready.
    pub(crate) ready: Option<String>,
    /// How long it may take to become ready.
    pub(crate) ready_timeout: Duration,
    /// How long it has between SIGTERM and SIGKILL; `None`: the run's.
    pub(crate) stop_timeout: Option<Duration>,
    /// What it takes, for the wire checks; `None`: any message.
    pub(crate) takes: Option<MessageType>,
}

/// When a command sketch that ended is started again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Restart {
    /// Never: a server that ends stays down; a client that fails fails the run.
    Never,
    /// When it fails: exits non-zero, or dies of a signal.
    OnFailure,
    /// Whenever it ends, until the circuit stops.
    Always,
}

impl Restart {
    /// Its name in a circuit file.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Restart::Never => "never",
            Restart::OnFailure => "on-failure",
            Restart::Always => "always",
        }
    }
}

impl CommandSketch {
    /// Whether it serves: a `{port}` in its words or its environment.
    pub(crate) fn serves(&self) -> bool {
        self.pieces().any(|piece| *piece == Piece::Port)
    }

    /// The sketches of the circuit its placeholders name, in order, once each.
    pub(crate) fn named(&self) -> Vec<&str> {
        let mut named: Vec<&str> = Vec::new();
        for sketch in self.pieces().filter_map(Piece::names) {
            if !named.contains(&sketch) {
                named.push(sketch);
            }
        }
        named
    }

    /// Every piece of its words and environment.
    fn pieces(&self) -> impl Iterator<Item = &Piece> {
        let words = self.command.iter();
        let values = self.env.iter().map(|(_, value)| value);
        words.chain(values).flat_map(|word| &word.0)
    }
}
