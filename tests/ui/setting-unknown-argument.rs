use circuit_runtime::prelude::*;

#[sketch]
struct Pin {
    /// Probability of a 0.
    #[setting(defualt = 0.5)]
    chance: f64,
}

fn main() {}
