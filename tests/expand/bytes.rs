use circuit_runtime::prelude::*;

/// Answers every message with itself: text as text, binary as binary.
#[sketch]
struct Echo {}

impl Echo {
    #[reactive]
    fn echo(&mut self, _channel: &str, message: Payload) -> Payload {
        message
    }
}

fn main() {}
