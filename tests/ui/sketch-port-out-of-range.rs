use circuit_runtime::prelude::*;

#[sketch(port = 70000)]
struct Pin {
    level: u8,
}

fn main() {}
