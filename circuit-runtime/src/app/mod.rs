//! The application layer: [`App`] (one subcommand per sketch), the command
//! line of a sketch, the process around a run (logging, Ctrl-C / SIGTERM),
//! circuit files and `up`, circuits wired in code, and the `probe` command. The only layer that knows
//! about `clap`.

pub(crate) mod circuit;
pub(crate) mod circuit_file;
pub(crate) mod command;
pub(crate) mod kind;
pub(crate) mod ls;
pub(crate) mod observed;
pub(crate) mod probe;
pub(crate) mod process;
pub(crate) mod program;
pub(crate) mod replay;
pub(crate) mod up;

pub use circuit::{Circuit, Handle};
pub use command::{command, parse, quiet_arg, seconds, seed_arg, vcd_arg, web_arg};
pub use observed::observed;
pub use process::run_until_interrupted;
pub use program::App;
