use circuit_runtime::prelude::*;

/// A pin with settings of several types.
#[sketch]
struct Pin {
    /// Probability that a drawn bit is 0.
    #[setting(short = 'c', default = 0.5)]
    chance: f64,
    /// Bits drawn per tick.
    #[setting(default = 3)]
    sequence: usize,
    /// What the pin is called.
    #[setting(default = "pin")]
    label: String,
    /// Whether to invert every bit.
    #[setting]
    invert_bits: bool,
    rng: Rng,
    level: u8,
}

impl Pin {
    #[reactive]
    fn tick(&mut self, _channel: &str, _message: String) -> u8 {
        self.level = u8::from(self.rng.chance(self.chance) ^ self.invert_bits);
        self.level
    }
}

fn main() {}
