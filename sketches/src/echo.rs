//! The echo: the simplest sketch, and the target for protocol conformance tests.

use circuit_runtime::prelude::*;

/// Answers every message with the message itself: text as text, binary as binary.
#[sketch(port = 8767)]
pub struct Echo {}

impl Echo {
    /// The loop: every message comes back as it came.
    #[reactive]
    pub fn echo(&mut self, _channel: &str, message: Payload) -> Payload {
        message
    }
}
