//! The echo: the simplest sketch, and the target for protocol conformance tests.

use circuit_runtime::prelude::*;

/// Answers every message with the message itself: text as text, binary as binary.
#[sketch(port = 8767)]
pub struct Echo {}

impl Echo {
    #[reactive]
    fn echo(&mut self, _channel: &str, message: Payload) -> Payload {
        message
    }
}
