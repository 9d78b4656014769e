//! `sketches`: run one sketch of the demo circuit, or the whole circuit.

use std::process::ExitCode;

use circuit_runtime::App;
use sketches::{Buzzer, Clock, Echo, IoPin};

fn main() -> ExitCode {
    App::new("sketches")
        .about("The demo circuit: a clock drives an I/O pin, which drives a buzzer")
        .sketch::<Clock>()
        .sketch::<IoPin>()
        .sketch::<Buzzer>()
        .sketch::<Echo>()
        .circuit("circuit", sketches::DEMO, "clock")
        .run()
}
