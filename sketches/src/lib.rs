//! The demo circuit: a clock drives an I/O pin, which drives a buzzer; and an echo.
//!
//! One file per sketch, each reading like the Arduino code it imitates, and
//! `circuit`, which wires all three together in one process.

#![deny(missing_docs)]

mod buzzer;
pub mod circuit;
mod clock;
mod echo;
mod iopin;

pub use buzzer::Buzzer;
pub use clock::Clock;
pub use echo::Echo;
pub use iopin::IoPin;
