use circuit_runtime::prelude::*;

#[sketch(port = "8765")]
struct Pin {
    level: u8,
}

fn main() {}
