use circuit_runtime::prelude::*;

/// A server given `to_port`, a timer's key: where it serves is `port`.
#[sketch(to_port = 8765)]
struct Pin {
    level: u8,
}

impl Pin {
    #[reactive]
    fn listen(&mut self, _channel: &str, level: u8) -> u8 {
        self.level = level;
        level
    }
}

fn main() {}
