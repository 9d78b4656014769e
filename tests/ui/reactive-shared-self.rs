use circuit_runtime::prelude::*;

#[sketch]
struct Pin {
    level: u8,
}

impl Pin {
    #[reactive]
    fn tick(&self, _channel: &str, _message: String) {}
}

fn main() {}
