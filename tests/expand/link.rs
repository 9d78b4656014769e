use circuit_runtime::prelude::*;

/// Forwards every message to a buzzer.
#[sketch]
struct Relay {
    /// Where the messages go.
    #[setting(default = "ws://localhost:8766/pin")]
    buzzer: Link,
}

impl Relay {
    #[reactive]
    async fn relay(&mut self, _channel: &str, message: String) {
        self.buzzer.send(message).await;
    }
}

fn main() {}
