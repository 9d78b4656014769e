use circuit_runtime::prelude::*;

#[sketch]
struct Pin {
    /// Where to listen.
    #[setting(default = 1)]
    port: u16,
    /// How loud.
    #[setting(short = 'q', default = 1)]
    volume: u8,
}

fn main() {}
