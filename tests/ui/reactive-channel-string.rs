use circuit_runtime::prelude::*;

#[sketch]
struct Pin {
    level: u8,
}

impl Pin {
    #[reactive]
    fn set(&mut self, channel: String, level: u8) -> String {
        self.level = level;
        channel
    }
}

fn main() {}
