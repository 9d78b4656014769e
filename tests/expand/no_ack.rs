use circuit_runtime::prelude::*;

/// Keeps the last level; acknowledges with `n/a`.
#[sketch]
struct Sink {
    level: u8,
}

impl Sink {
    #[reactive]
    fn keep(&mut self, _channel: &str, level: u8) {
        self.level = level;
    }
}

fn main() {}
