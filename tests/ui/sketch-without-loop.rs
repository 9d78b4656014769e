use circuit_runtime::prelude::*;

/// A pin that forgot its loop.
#[sketch]
struct Pin {
    level: u8,
}

fn main() {}
