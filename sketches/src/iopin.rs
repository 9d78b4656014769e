//! The I/O pin: on every clock tick, draws a few random bits, logs them,
//! streams each level to the buzzer, and acknowledges with the bits.

use circuit_runtime::prelude::*;

/// Sets an I/O pin to 0 or 1 at random on every clock tick.
#[sketch(port = 8765)]
pub struct IoPin {
    /// Probability that a drawn bit is 0.
    #[setting(default = 0.5)]
    chance: f64,
    /// Bits drawn per tick.
    #[setting(default = 3)]
    sequence: usize,
    /// Where the pin's levels go: one buzzer or several.
    #[setting(default = ["ws://localhost:8766/pin"])]
    buzzer: Vec<Link<u8>>,
    rng: Rng,
    /// Bits drawn so far.
    pub drawn: u64,
}

impl IoPin {
    fn setup(&mut self) -> Result<(), String> {
        if (0.0..=1.0).contains(&self.chance) {
            Ok(())
        } else {
            Err(format!(
                "--chance is a probability between 0 and 1, not {}",
                self.chance
            ))
        }
    }

    /// The loop: one clock tick; draws the bits and streams them to the buzzers.
    #[reactive]
    pub async fn tick(&mut self, channel: &str, message: String) -> String {
        out!("new tick triggered on {channel}: {message}");
        let bits: Vec<u8> = (0..self.sequence)
            .map(|_| u8::from(!self.rng.chance(self.chance)))
            .collect();
        out!("toggling pin state: {bits:?}");
        for &level in &bits {
            signal("level", level == 1);
            for buzzer in &self.buzzer {
                buzzer.send(level).await;
            }
        }
        self.drawn += bits.len() as u64;
        format!("{bits:?}")
    }
}
