use circuit_runtime::prelude::*;

struct Pin {
    level: u8,
}

impl Pin {
    #[reactive]
    fn tick(&mut self, _channel: &str, message: u8) {
        self.level = message;
    }
}

fn main() {}
