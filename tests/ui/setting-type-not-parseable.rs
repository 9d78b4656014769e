use circuit_runtime::prelude::*;

#[sketch]
struct Pin {
    /// Levels to play.
    #[setting]
    levels: Vec<u8>,
}

impl Pin {
    #[reactive]
    fn tick(&mut self, _channel: &str, _message: String) {}
}

fn main() {}
