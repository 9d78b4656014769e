use circuit_runtime::prelude::*;

#[sketch]
enum Pin {
    Low,
    High,
}

fn main() {}
