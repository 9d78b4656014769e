use circuit_runtime::prelude::*;

/// A timer with a setting of its own called `to`: the flag where a timer sends.
#[sketch(every = delay)]
struct Ticker {
    #[setting(default = 1.0)]
    delay: f64,
    #[setting(default = "nowhere")]
    to: String,
}

impl Ticker {
    #[reactive]
    fn tick(&mut self, tick: u64) -> Option<u64> {
        Some(tick)
    }
}

fn main() {}
