//! The demo circuit: a clock drives an I/O pin, which drives a buzzer; and an echo.
//!
//! One file per sketch, each reading like the Arduino code it imitates, and
//! the circuit file that wires all three together in one process.

#![deny(missing_docs)]

mod buzzer;
mod clock;
mod echo;
mod iopin;

pub use buzzer::Buzzer;
pub use clock::Clock;
pub use echo::Echo;
pub use iopin::IoPin;

/// The demo circuit's file (`sketches/circuits/demo.toml`): clock → iopin →
/// buzzer, with a summary of ticks, acknowledgements, bits and buzzes.
pub const DEMO: &str = include_str!("../circuits/demo.toml");
