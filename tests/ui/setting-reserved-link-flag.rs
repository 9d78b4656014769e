use circuit_runtime::prelude::*;

#[sketch]
struct Pin {
    /// How long to wait at the end.
    #[setting(default = 1.0)]
    stop_timeout: f64,
    /// Where levels go.
    #[setting(default = "ws://localhost:8766/pin")]
    buzzer: Link,
}

impl Pin {
    #[reactive]
    fn set(&mut self, _channel: &str, _level: u8) {}
}

fn main() {}
