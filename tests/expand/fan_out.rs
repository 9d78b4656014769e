use circuit_runtime::prelude::*;

/// Copies every message to each of its outputs, and to a tap when given.
#[sketch]
struct Splitter {
    /// Where every message goes.
    #[setting]
    outs: Vec<Link>,
    /// Where every message also goes, if given.
    #[setting]
    tap: Option<Link>,
}

impl Splitter {
    #[reactive]
    async fn split(&mut self, _channel: &str, message: String) {
        for out in &self.outs {
            out.send(&message).await;
        }
    }
}

fn main() {}
