use circuit_runtime::prelude::*;

#[sketch]
struct Pin {
    level: u8,
}

impl Pin {
    #[reactive]
    fn set(&mut self, level: u8) {
        self.level = level;
    }
}

fn main() {}
