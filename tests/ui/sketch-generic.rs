use circuit_runtime::prelude::*;

#[sketch]
struct Pin<T> {
    level: T,
}

fn main() {}
