//! `crash`: two sketches made for the crash tests (`tests/crash.rs`), whose
//! messages say who sent them, so that a test can tell from a sink's log
//! which messages its loop processed, how often and in what order.

use std::process::ExitCode;
use std::time::Duration;

use circuit_runtime::prelude::*;
use circuit_runtime::App;

/// On every tick, sends `--count` messages on its link, each naming its
/// process, the tick and its place in it: `PID:TICK:K`.
#[sketch(port = 8801)]
pub struct Relay {
    /// Messages sent per tick.
    #[setting(default = 10)]
    count: u64,
    /// Where the messages go.
    #[setting(default = "ws://localhost:8802/in")]
    to: Link<String>,
}

impl Relay {
    /// The loop: one tick; its messages, sent in order.
    #[reactive]
    pub async fn tick(&mut self, _channel: &str, tick: String) -> String {
        let pid = std::process::id();
        for k in 0..self.count {
            self.to.send(format!("{pid}:{tick}:{k}")).await;
        }
        format!("sent {}", self.count)
    }
}

/// Logs every message its loop processes (`got TEXT`), taking `--pause`
/// microseconds over each, so that a sender gets ahead of it.
#[sketch(port = 8802)]
pub struct Sink {
    /// Microseconds spent on each message.
    #[setting(default = 0)]
    pause: u64,
}

impl Sink {
    /// The loop: one message, logged.
    #[reactive]
    pub fn take(&mut self, _channel: &str, message: String) -> String {
        std::thread::sleep(Duration::from_micros(self.pause));
        out!("got {message}");
        "ok".to_owned()
    }
}

fn main() -> ExitCode {
    App::new("crash")
        .about("Sketches for the crash tests: a relay and a sink")
        .sketch::<Relay>()
        .sketch::<Sink>()
        .run()
}
