//! A thermostat that reacts to temperature readings and drives a fan over a
//! link: two sketches in one program, showing what the seed circuit does not —
//! a message type of your own, `Result` acknowledgements, `setup` that checks
//! its settings, short flags and explicit names.
//!
//! ```sh
//! cargo run -p circuit-runtime --example thermostat -- fan            # terminal 1
//! cargo run -p circuit-runtime --example thermostat -- thermostat     # terminal 2
//! websocat ws://localhost:8770/livingroom    # then type 21C, 26.5C, 80F, …
//! ```
//!
//! A fan that restarts is off while the thermostat believes it on (and between
//! `--low` and `--high` it changes nothing): `--retain fan` has the link send
//! the fan its last command again, first on every new connection.
//!
//! Or all three at once, a day's weather driving the thermostat, from a
//! circuit file:
//!
//! ```sh
//! cargo run -p circuit-runtime --example thermostat -- up circuit-runtime/examples/thermostat.toml
//! cargo run -p circuit-runtime --example thermostat -- day    # the same, wired in code
//! ```

use std::fmt;
use std::process::ExitCode;
use std::str::FromStr;

use circuit_runtime::prelude::*;
use circuit_runtime::Circuit;

/// A temperature reading as sent on the wire: `21.5C` or `70F`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reading {
    /// The temperature in degrees Celsius.
    celsius: f64,
}

impl FromStr for Reading {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (number, to_celsius): (&str, fn(f64) -> f64) = if let Some(c) = text.strip_suffix('C') {
            (c, |c| c)
        } else if let Some(f) = text.strip_suffix('F') {
            (f, |f| (f - 32.0) * 5.0 / 9.0)
        } else {
            return Err("a reading ends with C or F, such as 21.5C".to_owned());
        };
        let value: f64 = number.trim().parse().map_err(|err| format!("{err}"))?;
        Ok(Reading {
            celsius: to_celsius(value),
        })
    }
}

/// A reading's text is what it is read from, so that a `Link<Reading>` sends
/// what a loop taking `Reading` reads.
impl fmt::Display for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1}C", self.celsius)
    }
}

/// Switches a fan on above `--high` and off below `--low` degrees Celsius.
#[sketch(name = "thermostat", port = 8770)]
struct Thermostat {
    /// Switch the fan on above this temperature, in °C.
    #[setting(short = 'H', default = 25.0)]
    high: f64,
    /// Switch the fan off below this temperature, in °C.
    #[setting(short = 'L', default = 22.0)]
    low: f64,
    /// Where the fan listens: it takes 1 (on) and 0 (off).
    #[setting(default = "ws://localhost:8771/fan")]
    fan: Link<u8>,
    /// Whether the fan was last switched on.
    fan_on: bool,
}

impl Thermostat {
    fn setup(&mut self) -> Result<(), String> {
        if self.low < self.high {
            Ok(())
        } else {
            Err(format!(
                "--low ({}) must be below --high ({})",
                self.low, self.high
            ))
        }
    }

    #[reactive]
    async fn react(&mut self, room: &str, reading: Reading) -> Result<&'static str, String> {
        if !(-60.0..=60.0).contains(&reading.celsius) {
            return Err(format!("{reading} in {room} cannot be right; ignored"));
        }
        let wanted = if reading.celsius > self.high {
            true
        } else if reading.celsius < self.low {
            false
        } else {
            self.fan_on // between the two: keep the fan as it is
        };
        if wanted != self.fan_on {
            self.fan_on = wanted;
            out!(
                "{reading} in {room}: fan {}",
                if wanted { "on" } else { "off" }
            );
            self.fan.send(u8::from(wanted)).await;
        }
        Ok(if self.fan_on { "fan on" } else { "fan off" })
    }
}

/// A fan that spins while its last command was 1.
#[sketch(port = 8771)]
struct Fan {
    /// Whether the fan spins.
    spinning: bool,
    /// Commands received so far.
    commands: u64,
}

impl Fan {
    #[reactive]
    fn switch(&mut self, _channel: &str, on: u8) -> &'static str {
        self.spinning = on != 0;
        self.commands += 1;
        signal("spinning", self.spinning);
        out!("{}", if self.spinning { "whirr" } else { "silence" });
        if self.spinning {
            "spinning"
        } else {
            "stopped"
        }
    }
}

/// Sends a day's temperatures, one reading per tick, warming to a peak and cooling down.
#[sketch(every = pause, count = hours, channel = "/outside")]
struct Weather {
    /// Readings to send: one per hour of the day.
    #[setting(default = 24)]
    hours: u64,
    /// Seconds between two readings.
    #[setting(default = 0.0)]
    pause: f64,
    /// The warmest it gets, at noon, in °C.
    #[setting(default = 30.0)]
    peak: f64,
}

impl Weather {
    #[reactive]
    fn tick(&mut self, hour: u64) -> Option<Reading> {
        // Coldest at midnight, `peak` at noon, 15 degrees between them.
        let phase = (hour % 24) as f64 / 24.0 * std::f64::consts::TAU;
        let celsius = self.peak - 7.5 * (1.0 + phase.cos());
        let reading = (hour < self.hours).then_some(Reading { celsius });
        if reading.is_some() {
            signal("celsius", celsius);
        }
        reading
    }
}

fn main() -> ExitCode {
    program().run()
}

/// The program: the thermostat, its fan, and the weather that drives them;
/// `day` runs the three together, as `thermostat.toml` does.
fn program() -> App {
    App::new("thermostat")
        .about("A thermostat, the fan it drives, and the weather")
        .sketch::<Thermostat>()
        .sketch::<Fan>()
        .sketch::<Weather>()
        .wired("day", day())
}

/// A day of weather through the thermostat and its fan, wired in code: the
/// compiler checks that readings go to the thermostat and commands to the fan.
fn day() -> Circuit {
    let mut circuit = Circuit::new("living-room");
    let fan = circuit.serve("fan", Fan::switch);
    let thermostat = circuit.serve("thermostat", Thermostat::react);
    circuit.link(&thermostat, Thermostat::FAN, &fan);
    let weather = circuit.timer("weather", Weather::tick);
    circuit.set(&weather, "peak", 29.0);
    circuit.send(&weather, &thermostat);
    circuit.count("readings", "weather.celsius");
    circuit.count_rises("fan switched on", "fan.spinning");
    circuit
}

#[cfg(test)]
mod tests {
    use super::*;
    use circuit_runtime::app::parse;
    use circuit_runtime::net::Server;
    use circuit_runtime::Sketch;
    use futures_util::{SinkExt, StreamExt};
    use std::time::Duration;
    use tokio::time::timeout;
    use tokio_tungstenite::tungstenite::Message;

    #[test]
    fn readings_parse_in_either_unit() {
        assert_eq!("21.5C".parse(), Ok(Reading { celsius: 21.5 }));
        assert_eq!("212F".parse(), Ok(Reading { celsius: 100.0 }));
        assert!("21.5".parse::<Reading>().is_err());
        assert!("warmC".parse::<Reading>().is_err());
    }

    #[test]
    fn the_circuit_file_runs_a_day_of_weather_through_thermostat_and_fan() {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/thermostat.toml");
        assert_eq!(program().status_from(["thermostat", "up", file, "-q"]), 0);
        let broken = std::env::temp_dir().join(format!("thermostat-{}.toml", std::process::id()));
        std::fs::write(&broken, "[sketches.thermostat]\nhihg = 26.0\n").unwrap();
        let status = program().status_from(["thermostat", "up", broken.to_str().unwrap()]);
        std::fs::remove_file(&broken).unwrap();
        assert_eq!(status, 2, "a typo in the file is a usage error");
    }

    /// Set in the process that runs the heat wave for the test below.
    const HEAT_WAVE: &str = "THERMOSTAT_HEAT_WAVE";

    #[test]
    fn the_heat_wave_scenario_switches_the_fan_on_and_off_again() {
        let scenario = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sketches/scenarios/heat_wave.toml"
        );
        if std::env::var_os(HEAT_WAVE).is_some() {
            // A scenario's clock, log and recorder are its process's: this one is ours alone.
            std::process::exit(i32::from(program().status_from([
                "thermostat",
                "test",
                scenario,
            ])));
        }
        let name = "tests::the_heat_wave_scenario_switches_the_fan_on_and_off_again";
        let ran = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env(HEAT_WAVE, "1")
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&ran.stdout);
        if !cfg!(feature = "sim") {
            // The lean build has no simulated time: refused, naming the feature.
            let err = String::from_utf8_lossy(&ran.stderr);
            assert_eq!(ran.status.code(), Some(2), "{out}{err}");
            assert!(err.contains("\"sim\" feature"), "{err}");
            return;
        }
        assert_eq!(ran.status.code(), Some(0), "{out}");
        assert!(
            out.contains("ok     heat_wave (86400.000s simulated, "),
            "{out}"
        );
        assert!(out.contains("1 passed, 0 failed"), "{out}");
    }

    #[test]
    fn the_day_wired_in_code_is_the_day_of_the_file() {
        assert_eq!(day().check(), Ok(()));
        assert_eq!(program().status_from(["thermostat", "day", "-q"]), 0);
    }

    #[test]
    fn a_circuit_file_may_not_send_fan_commands_to_the_thermostat() {
        // The thermostat's `fan` link sends u8; the thermostat's own loop takes `Reading`.
        let wrong = std::env::temp_dir().join(format!("wired-{}.toml", std::process::id()));
        std::fs::write(&wrong, "[sketches.thermostat]\nfan = \"thermostat\"\n").unwrap();
        let status = program().status_from(["thermostat", "up", wrong.to_str().unwrap()]);
        std::fs::remove_file(&wrong).unwrap();
        assert_eq!(
            status, 2,
            "a link to a loop of another type is a usage error"
        );
    }

    #[test]
    fn the_weather_warms_to_its_peak_at_noon() {
        let (mut weather, _) = parse::<Weather, _, _>(["--peak", "28"]).unwrap();
        assert_eq!(weather.tick(0), Some(Reading { celsius: 13.0 }));
        assert_eq!(weather.tick(12), Some(Reading { celsius: 28.0 }));
        assert_eq!(weather.tick(24), None, "a day has 24 readings");
    }

    #[test]
    fn low_must_stay_below_high() {
        let (mut thermostat, _) = parse::<Thermostat, _, _>(["-L", "30", "-H", "20"]).unwrap();
        assert!(Sketch::begin(&mut thermostat).is_err());
    }

    #[tokio::test]
    async fn the_fan_follows_the_thermostat_with_hysteresis() {
        let patience = Duration::from_secs(20);
        let (fan, options) = parse::<Fan, _, _>(["-s", "127.0.0.1", "-p", "0"]).unwrap();
        let fan = Server::start(fan, &options).await.unwrap();
        let link = format!("ws://127.0.0.1:{}/fan", fan.local_addr().port());
        let args = ["-s", "127.0.0.1", "-p", "0", "--fan", &link];
        let (thermostat, options) = parse::<Thermostat, _, _>(args).unwrap();
        let thermostat = Server::start(thermostat, &options).await.unwrap();

        let url = format!("ws://127.0.0.1:{}/kitchen", thermostat.local_addr().port());
        let (mut sensor, _) = timeout(patience, tokio_tungstenite::connect_async(url.as_str()))
            .await
            .unwrap()
            .unwrap();
        let mut acks = Vec::new();
        for reading in ["21C", "26C", "23C", "70F", "99C", "cold"] {
            sensor.send(Message::text(reading)).await.unwrap();
            let ack = timeout(patience, sensor.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            acks.push(ack.into_text().unwrap().as_str().to_owned());
        }
        assert_eq!(acks[..4], ["fan off", "fan on", "fan on", "fan off"]);
        assert!(
            acks[4].starts_with("error: 99.0C in /kitchen cannot be right"),
            "{acks:?}"
        );
        assert!(
            acks[5].starts_with("error: cannot read \"cold\""),
            "{acks:?}"
        );

        drop(sensor);
        let thermostat = timeout(patience, thermostat.stop()).await.unwrap();
        let fan = timeout(patience, fan.stop()).await.unwrap();
        assert!(!thermostat.fan_on);
        assert_eq!(fan.commands, 2, "the fan got exactly the on and the off");
        assert!(!fan.spinning, "in that order");
    }
}
