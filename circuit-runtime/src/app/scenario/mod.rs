//! Scenario tests in simulated time (`test FILE...`): a scenario file names
//! a circuit, what to send it and what must (or must never) happen, read and
//! checked as circuit files are (`file`); its expectations decided as the
//! run goes (`watch`); one scenario run in this process (`run`); and the
//! command, which runs several files in processes of their own (`command`).

pub(crate) mod command;
pub(crate) mod file;
pub(crate) mod run;
pub(crate) mod watch;
