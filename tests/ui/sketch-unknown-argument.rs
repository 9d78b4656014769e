use circuit_runtime::prelude::*;

#[sketch(prot = 8765)]
struct Pin {
    level: u8,
}

fn main() {}
