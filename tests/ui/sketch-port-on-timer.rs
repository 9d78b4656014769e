use circuit_runtime::prelude::*;

/// A timer given `port`, as if it served: its port is its server's, `to_port`.
#[sketch(every = delay, port = 8765)]
struct Ticker {
    #[setting(default = 1.0)]
    delay: f64,
}

impl Ticker {
    #[reactive]
    fn tick(&mut self, tick: u64) -> Option<u64> {
        Some(tick)
    }
}

fn main() {}
