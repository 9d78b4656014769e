use circuit_runtime::prelude::*;

#[sketch]
struct Pin {
    level: u8,
}

impl Pin {
    async fn setup(&mut self) {
        self.level = 1;
    }

    #[reactive]
    fn set(&mut self, _channel: &str, level: u8) {
        self.level = level;
    }
}

fn main() {}
