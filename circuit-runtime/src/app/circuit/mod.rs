//! Circuits: sketches wired together, whoever wrote them. One model (`plan`)
//! and one check of its rules (`check`), fed by a circuit file (`file`, its
//! TOML read by `toml_file`, values given instead with `--set` by `set`) or
//! by code (`wired`, the public [`Circuit`]); the framework's options a
//! circuit sets per sketch, found in a sketch's own command line (`options`);
//! programs it starts as sketches (`command_sketch`);
//! running a checked circuit (`run`, where its sketches run in `placement`,
//! with its analyzer page in `panel`, and
//! one part of a circuit across hosts in `part`); and
//! the commands that do (`commands`).

pub(crate) mod check;
pub(crate) mod command_sketch;
pub(crate) mod commands;
pub(crate) mod file;
pub(crate) mod options;
pub(crate) mod panel;
pub(crate) mod part;
pub(crate) mod placement;
pub(crate) mod plan;
pub(crate) mod run;
pub(crate) mod set;
pub(crate) mod toml_file;
pub(crate) mod wired;

pub use wired::{Circuit, Handle};
