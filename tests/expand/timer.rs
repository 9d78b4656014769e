use circuit_runtime::prelude::*;

/// Ticks `--tacks` times, `--delay` seconds apart, to the server on port 9000.
#[sketch(every = delay, count = tacks, channel = "/datafeed", to_port = 9000)]
struct Clock {
    /// How many ticks to send.
    #[setting(short = 't', default = 5)]
    tacks: u64,
    /// Seconds between two ticks.
    #[setting(short = 'd', default = 1.0)]
    delay: f64,
}

impl Clock {
    #[reactive]
    fn tick(&mut self, tick: u64) -> Option<u64> {
        (tick < self.tacks).then_some(tick)
    }
}

fn main() {}
