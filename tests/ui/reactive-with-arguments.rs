use circuit_runtime::prelude::*;

#[sketch]
struct Pin {
    level: u8,
}

impl Pin {
    #[reactive(every = 1)]
    fn tick(&mut self, _channel: &str, message: u8) {
        self.level = message;
    }
}

fn main() {}
