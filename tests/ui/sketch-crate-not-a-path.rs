use circuit_runtime::prelude::*;

#[sketch(crate = "circuit runtime")]
struct Pin {
    level: u8,
}

impl Pin {
    #[reactive]
    fn set(&mut self, _channel: &str, level: u8) {
        self.level = level;
    }
}

fn main() {}
