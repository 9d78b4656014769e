//! The application layer: [`App`] (one subcommand per sketch), the command
//! line of a sketch, the process around a run (logging, Ctrl-C / SIGTERM),
//! a sketch replayed from a recording, `ls` and `probe`; scenario tests
//! of a circuit in simulated time (`scenario`, `test FILE...`); and circuits
//! (`circuit`): one model and one check of its rules, whether a circuit file
//! or code ([`Circuit`]) wrote it, how a checked circuit runs, and the
//! commands that run one (`up FILE`, a shipped file, a circuit wired in
//! code). The only layer that knows about `clap`.

pub(crate) mod circuit;
pub(crate) mod command;
pub(crate) mod flags;
pub(crate) mod kind;
pub(crate) mod ls;
pub(crate) mod metered;
pub(crate) mod observed;
pub(crate) mod probe;
pub(crate) mod process;
pub(crate) mod program;
pub(crate) mod replay;
pub(crate) mod scenario;

pub use circuit::{Circuit, Handle};
pub use command::parse;
pub use process::run_until_interrupted;
pub use program::App;
