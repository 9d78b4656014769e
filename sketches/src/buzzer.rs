//! The buzzer: listens to a pin's levels and buzzes when the pin rises.

use circuit_runtime::prelude::*;

/// Buzzes whenever the pin it listens to flips from 0 to 1.
#[sketch(port = 8766)]
pub struct Buzzer {
    /// What a buzz says.
    #[setting(default = "bzzz")]
    sound: String,
    level: u8,
    /// Buzzes so far.
    pub buzzes: u64,
}

impl Buzzer {
    /// The loop: one level of the pin; buzzes on a rise.
    #[reactive]
    pub fn listen(&mut self, _channel: &str, level: u8) -> Option<String> {
        let rising = self.level == 0 && level != 0;
        self.level = level;
        signal("buzz", rising);
        if rising {
            self.buzzes += 1;
            out!("buzz #{}: {}", self.buzzes, self.sound);
        }
        rising.then(|| self.sound.clone())
    }
}
