use circuit_runtime::prelude::*;

#[sketch]
struct Pin {
    /// Levels to play.
    #[setting]
    levels: std::collections::HashMap<String, u8>,
}

impl Pin {
    #[reactive]
    fn tick(&mut self, _channel: &str, _message: String) {}
}

fn main() {}
