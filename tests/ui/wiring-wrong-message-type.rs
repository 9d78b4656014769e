//! A link that sends fan commands, wired to a sketch whose loop takes
//! readings: must not compile.

use std::fmt;
use std::str::FromStr;

use circuit_runtime::prelude::*;
use circuit_runtime::Circuit;

struct FanCommand(bool);

impl FromStr for FanCommand {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Ok(FanCommand(text == "on"))
    }
}

impl fmt::Display for FanCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0 { "on" } else { "off" })
    }
}

struct Reading(f64);

impl FromStr for Reading {
    type Err = std::num::ParseFloatError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse().map(Reading)
    }
}

/// Switches the fan when it is too warm.
#[sketch]
struct Controller {
    #[setting(default = "ws://localhost:8771/fan")]
    fan: Link<FanCommand>,
}

impl Controller {
    #[reactive]
    async fn react(&mut self, _channel: &str, reading: Reading) -> bool {
        self.fan.send(FanCommand(reading.0 > 25.0)).await;
        true
    }
}

/// Logs readings.
#[sketch]
struct Thermostat {}

impl Thermostat {
    #[reactive]
    fn read(&mut self, _channel: &str, reading: Reading) -> bool {
        reading.0 > 25.0
    }
}

fn main() {
    let mut circuit = Circuit::new("wrong");
    let controller = circuit.serve("controller", Controller::react);
    let thermostat = circuit.serve("thermostat", Thermostat::read);
    circuit.link(&controller, Controller::FAN, &thermostat);
}
