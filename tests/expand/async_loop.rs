use circuit_runtime::prelude::*;

/// Waits for nothing, asynchronously.
#[sketch]
struct Waiter {
    count: u64,
}

impl Waiter {
    #[reactive]
    async fn wait(&mut self, _channel: &str, message: u64) -> u64 {
        self.count += message;
        self.count
    }
}

fn main() {}
