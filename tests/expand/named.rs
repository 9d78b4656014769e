use circuit_runtime::prelude::*;

/// A sketch whose subcommand and log name are chosen, not derived.
#[sketch(name = "io-pin", port = 9000)]
struct InputOutputPin {
    level: u8,
}

impl InputOutputPin {
    fn setup(&mut self) {
        self.level = 1;
    }

    #[reactive]
    fn read(&mut self, _channel: &str, _message: String) -> u8 {
        self.level
    }
}

fn main() {}
