use circuit_runtime::prelude::*;

#[sketch]
struct Pin {
    /// Probability of a 0.
    #[setting(default = "half")]
    chance: f64,
}

impl Pin {
    #[reactive]
    fn tick(&mut self, _channel: &str, _message: String) {}
}

fn main() {}
