use circuit_runtime::prelude::*;

#[reactive]
fn tick(channel: &str, message: String) -> String {
    format!("{channel}: {message}")
}

fn main() {}
