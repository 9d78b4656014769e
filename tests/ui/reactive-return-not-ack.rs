use circuit_runtime::prelude::*;

#[sketch]
struct Pin {
    level: u8,
}

impl Pin {
    #[reactive]
    fn tick(&mut self, _channel: &str, _message: String) -> std::time::Instant {
        std::time::Instant::now()
    }
}

fn main() {}
