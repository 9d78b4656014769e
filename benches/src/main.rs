//! `circuit-bench`: the program the load benchmark measures, with the echo
//! sketch and the demo circuit, built the way a user's program would be.

use std::process::ExitCode;

use circuit_runtime::App;
use sketches::{Buzzer, Clock, Echo, IoPin};

fn main() -> ExitCode {
    App::new("circuit-bench")
        .about("The echo sketch and the demo circuit, as the load benchmark runs them")
        .sketch::<Echo>()
        .sketch::<Clock>()
        .sketch::<IoPin>()
        .sketch::<Buzzer>()
        .circuit("circuit", sketches::DEMO, "clock")
        .run()
}
