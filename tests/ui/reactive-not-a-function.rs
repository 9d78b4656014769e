use circuit_runtime::prelude::*;

#[reactive]
struct Pin {
    level: u8,
}

fn main() {}
