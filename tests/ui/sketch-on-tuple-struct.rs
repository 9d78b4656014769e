use circuit_runtime::prelude::*;

#[sketch]
struct Pin(u8, f64);

fn main() {}
