//! The crate docs' example, as a user would start.
use circuit_runtime::prelude::*;

/// Answers every message with its length.
#[sketch(port = 9000)]
struct Counter {
    /// Added to every answer.
    #[setting(default = 0)]
    offset: usize,
}

impl Counter {
    #[reactive]
    fn count(&mut self, channel: &str, message: String) -> usize {
        out!("{channel}: {message}");
        message.len() + self.offset
    }
}

fn main() -> std::process::ExitCode {
    App::new("counter").sketch::<Counter>().run()
}
