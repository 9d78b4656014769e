use circuit_runtime::prelude::*;

/// Says hello.
#[sketch]
struct Hello {}

impl Hello {
    #[reactive]
    fn greet(&mut self, _channel: &str, name: String) -> String {
        name
    }
}

fn main() {}
