//! A timer that sends numbers of any size, pointed at a sketch that takes
//! levels (`u8`): must not compile.

use circuit_runtime::prelude::*;
use circuit_runtime::Circuit;

/// Ticks.
#[sketch(every = delay, channel = "/in")]
struct Clock {
    #[setting(default = 1.0)]
    delay: f64,
}

impl Clock {
    #[reactive]
    fn tick(&mut self, tick: u64) -> Option<u64> {
        Some(tick)
    }
}

/// Listens to levels.
#[sketch]
struct Buzzer {}

impl Buzzer {
    #[reactive]
    fn listen(&mut self, _channel: &str, level: u8) -> bool {
        level == 1
    }
}

fn main() {
    let mut circuit = Circuit::new("wrong");
    let clock = circuit.timer("clock", Clock::tick);
    let buzzer = circuit.serve("buzzer", Buzzer::listen);
    circuit.send(&clock, &buzzer);
}
