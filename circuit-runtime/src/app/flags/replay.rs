//! Replaying a recording: `--replay REC.vcd`, `--realtime`, `--check`.

use std::path::PathBuf;

use clap::{value_parser, Arg, ArgMatches};

use crate::app::flags::{flag, optional, switch, switched};

/// `--replay REC.vcd`.
pub(crate) const REPLAY: &str = "replay";
/// `--realtime`.
pub(crate) const REALTIME: &str = "realtime";
/// `--check`.
pub(crate) const CHECK: &str = "check";

/// What a replay feeds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fed {
    /// One server sketch, alone.
    Sketch,
    /// The sketches of a circuit that nothing in it feeds.
    Circuit,
}

/// `--replay`, `--realtime` and `--check`, worded for what is replayed into.
pub(crate) fn replay_args(fed: Fed) -> [Arg; 3] {
    let (replay, check) = match fed {
        Fed::Sketch => (
            "Run alone, fed what this sketch received in a recording (--vcd), at the recorded times, with no socket: its links send nothing, what they are given is recorded (SKETCH.LINK.out)",
            "With --replay, compare the signals and link lanes recorded with the recording's; exit 1 with the first differences",
        ),
        Fed::Circuit => (
            "Feed the sketches that nothing in the file feeds what they received in a recording (--vcd), at the recorded times; links out of the circuit send nothing",
            "With --replay, compare the signals of every sketch with the recording's; exit 1 with the first differences",
        ),
    };
    [
        flag(REPLAY)
            .value_name("REC.vcd")
            .value_parser(value_parser!(PathBuf))
            .help(replay),
        switch(REALTIME)
            .requires(REPLAY)
            .help("With --replay, wait out the recorded times instead of simulating them"),
        switch(CHECK).requires(REPLAY).help(check),
    ]
}

/// A recording to replay, as the flags ask.
pub(crate) struct Replaying {
    /// The recording.
    pub(crate) file: PathBuf,
    /// `--realtime`: wait the recorded times out instead of simulating them.
    pub(crate) realtime: bool,
    /// `--check`: compare the signals with the recording's at the end.
    pub(crate) check: bool,
}

/// The recording to replay, when `--replay` was given.
pub(crate) fn replaying(matches: &mut ArgMatches) -> Option<Replaying> {
    let file = optional(matches, REPLAY)?;
    Some(Replaying {
        file,
        realtime: switched(matches, REALTIME),
        check: switched(matches, CHECK),
    })
}
