use circuit_runtime::prelude::*;

#[sketch]
struct Pin {
    level: u8,
}

impl Pin {
    #[reactive(crate = circuit_runtime)]
    fn set(&mut self, _channel: &str, level: u8) {
        self.level = level;
    }
}

fn main() {}
