//! How a run is watched and wired: `-q/--quiet`, `--seed`, `--vcd`, `--web`,
//! and for a circuit `--sockets` and `--sim`.

use std::path::PathBuf;

use clap::{value_parser, Arg};

use crate::app::flags::{flag, switch};

/// `-q/--quiet`.
pub(crate) const QUIET: &str = "quiet";
/// `--seed N`.
pub(crate) const SEED: &str = "seed";
/// `--vcd FILE`.
pub(crate) const VCD: &str = "vcd";
/// `--web ADDR`.
pub(crate) const WEB: &str = "web";
/// `--sockets`.
pub(crate) const SOCKETS: &str = "sockets";
/// `--sim`.
pub(crate) const SIM: &str = "sim";

/// `-q/--quiet`: silences the per-message log lines.
pub(crate) fn quiet_arg() -> Arg {
    switch(QUIET)
        .short('q')
        .help("Silence the per-message log lines")
}

/// `--seed N`, as every sketch that draws random numbers has it.
pub(crate) fn seed_arg() -> Arg {
    flag(SEED)
        .value_name("N")
        .value_parser(value_parser!(u64))
        .help("Seed for the random draws: the same seed repeats a run")
}

/// `--vcd FILE`: record the signals as a Value Change Dump.
pub(crate) fn vcd_arg() -> Arg {
    flag(VCD)
        .value_name("FILE")
        .value_parser(value_parser!(PathBuf))
        .help("Record the signals (with their times) to FILE, a VCD for GTKWave or Surfer")
}

/// `--web ADDR`: serve the live logic-analyzer page.
pub(crate) fn web_arg() -> Arg {
    flag(WEB)
        .value_name("ADDR")
        .help("Serve a live logic-analyzer page on ADDR (such as 127.0.0.1:8080); it stays up after the run until Ctrl-C")
}

/// `--sockets`: wires between sketches of one process over loopback sockets.
pub(crate) fn sockets_arg() -> Arg {
    switch(SOCKETS).help("Wire the sketches of this process over loopback sockets instead of in-memory pipes (same messages, same acknowledgements)")
}

/// `--sim`: the circuit on a virtual clock.
pub(crate) fn sim_arg() -> Arg {
    switch(SIM).help("Run on simulated time: timers and timeouts jump to the next deadline whenever every sketch waits (a day of ticks in seconds, the same run as in real time)")
}
