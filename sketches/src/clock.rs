//! The clock: ticks `--tacks` times, `--delay` seconds apart, and sends each
//! tick to the I/O pin.

use circuit_runtime::prelude::*;

/// Ticks a number of times and sends each tick to an I/O pin's /datafeed.
// `to_port`: the pin's port, where the ticks go (a timer serves nothing).
#[sketch(every = delay, count = tacks, channel = "/datafeed", to_port = 8765)]
pub struct Clock {
    /// How many ticks to send.
    #[setting(short = 't', default = 5)]
    tacks: u64,
    /// Seconds between two ticks; fractions allowed.
    #[setting(short = 'd', default = 1.0)]
    delay: f64,
}

impl Clock {
    fn setup(&mut self) -> Result<(), String> {
        if self.delay.is_finite() && self.delay >= 0.0 {
            Ok(())
        } else {
            Err(format!(
                "--delay must be a number of seconds ≥ 0, not {}",
                self.delay
            ))
        }
    }

    /// The loop: tick number `tick` is sent as it is, until `--tacks` are sent.
    #[reactive]
    pub fn tick(&mut self, tick: u64) -> Option<u64> {
        (tick < self.tacks).then_some(tick)
    }
}
