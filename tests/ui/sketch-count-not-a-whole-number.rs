use circuit_runtime::prelude::*;

#[sketch(every = delay, count = delay, channel = "/datafeed")]
struct Clock {
    /// Seconds between ticks.
    #[setting(default = 1.0)]
    delay: f64,
}

impl Clock {
    #[reactive]
    fn tick(&mut self, tick: u64) -> Option<u64> {
        Some(tick)
    }
}

fn main() {}
