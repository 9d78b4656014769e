use circuit_runtime::prelude::*;

/// A server with a setting of its own called `ca`: the flag that says which CA to trust.
#[sketch]
struct Pin {
    /// Calcium, in mg.
    #[setting(default = 3)]
    ca: u8,
}

impl Pin {
    #[reactive]
    fn level(&mut self, _channel: &str, level: u8) -> u8 {
        level
    }
}

fn main() {}
