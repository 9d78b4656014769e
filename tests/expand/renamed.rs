//! The runtime by another path: every generated path starts with `crate = …`.

/// What a program that re-exports the runtime has.
mod circuit {
    pub use circuit_runtime::*;
}

use circuit::prelude::*;

/// Says hello.
#[sketch(crate = "crate::circuit")]
struct Hello {}

impl Hello {
    #[reactive(crate = "crate::circuit")]
    fn greet(&mut self, _channel: &str, name: String) -> String {
        name
    }
}

fn main() {}
