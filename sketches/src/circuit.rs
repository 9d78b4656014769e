//! The `circuit` command: clock → iopin → buzzer in one process, wired over
//! real loopback WebSockets on ephemeral ports, with a summary at the end.

use std::path::PathBuf;

use circuit_runtime::app::{
    observed, parse, quiet_arg, run_until_interrupted, seed_arg, vcd_arg, web_arg,
};
use circuit_runtime::base::{Options, Shutdown};
use circuit_runtime::net::{drive, Server};
use circuit_runtime::observe::{Counting, Panel, Tally};
use circuit_runtime::{Error, Result};
use clap::{value_parser, Arg, ArgMatches, Command};

use crate::{Buzzer, Clock, IoPin};

/// Every sketch of the circuit listens on loopback only.
const HOST: &str = "127.0.0.1";

/// What the logic-analyzer page shows for the circuit.
pub const PANEL: Panel = Panel {
    title: "circuit: clock → iopin → buzzer",
    signals: &[
        ("clock.tick", "number"),
        ("clock.ack", "text"),
        ("iopin.level", "bit"),
        ("buzzer.buzz", "bit"),
    ],
    tallies: &[
        Tally {
            label: "ticks sent",
            signal: "clock.tick",
            count: Counting::Samples,
        },
        Tally {
            label: "acknowledgements",
            signal: "clock.ack",
            count: Counting::Samples,
        },
        Tally {
            label: "bits drawn",
            signal: "iopin.level",
            count: Counting::Samples,
        },
        Tally {
            label: "buzzes",
            signal: "buzzer.buzz",
            count: Counting::Rises,
        },
    ],
    buzz: Some("buzzer.buzz"),
};

/// What one run of the circuit did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Ticks the clock sent.
    pub ticks: u64,
    /// Acknowledgements the clock received.
    pub acks: u64,
    /// Bits the pin drew.
    pub bits: u64,
    /// Times the buzzer buzzed.
    pub buzzes: u64,
}

/// The clock's options, which the circuit passes on.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Ticks to send.
    pub tacks: u64,
    /// Seconds between ticks.
    pub delay: f64,
    /// Seed of the pin's random draws.
    pub seed: Option<u64>,
}

/// The `circuit` subcommand.
pub fn command() -> Command {
    Command::new("circuit")
        .about("Runs clock → iopin → buzzer in one process and prints a summary")
        .arg(
            Arg::new("tacks")
                .short('t')
                .long("tacks")
                .value_name("TACKS")
                .value_parser(value_parser!(u64))
                .default_value("5")
                .help("How many ticks the clock sends"),
        )
        .arg(
            Arg::new("delay")
                .short('d')
                .long("delay")
                .value_name("DELAY")
                .value_parser(value_parser!(f64))
                .default_value("1")
                .help("Seconds between two ticks; fractions allowed"),
        )
        .arg(seed_arg())
        .arg(quiet_arg())
        .arg(vcd_arg())
        .arg(web_arg())
}

/// Runs the `circuit` subcommand with its parsed arguments.
///
/// # Errors
/// When a sketch cannot start, or the clock loses the pin.
pub fn run(matches: &mut ArgMatches) -> Result<()> {
    let settings = Settings {
        tacks: matches.remove_one("tacks").unwrap_or(5),
        delay: matches.remove_one("delay").unwrap_or(1.0),
        seed: matches.remove_one("seed"),
    };
    let vcd: Option<PathBuf> = matches.remove_one("vcd");
    let web: Option<String> = matches.remove_one("web");
    run_until_interrupted(
        "circuit",
        matches.get_flag("quiet"),
        Options::STOP_TIMEOUT,
        |shutdown| {
            observed(vcd, web, PANEL, shutdown, |shutdown| async move {
                let line = wire(&settings, shutdown).await?.to_string();
                tracing::info!("{line}");
                Ok(line)
            })
        },
    )
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ticks sent, {} acks received, {} bits drawn, {} buzzes",
            self.ticks, self.acks, self.bits, self.buzzes
        )
    }
}

/// Starts the buzzer, then the pin linked to it, then drives the clock against
/// the pin; when the clock is done (or `shutdown` fires), stops both servers,
/// letting the pin deliver every level to the buzzer first.
///
/// # Errors
/// When a sketch cannot start, or the clock loses the pin.
pub async fn wire(settings: &Settings, shutdown: Shutdown) -> Result<Summary> {
    let (buzzer, options) = parse::<Buzzer, _, _>(["-s", HOST, "-p", "0"]).map_err(usage)?;
    let buzzer = Server::start(buzzer, &options).await?;

    let link = format!("ws://{HOST}:{}/pin", buzzer.local_addr().port());
    let mut args = vec![
        "-s".to_owned(),
        HOST.to_owned(),
        "-p".to_owned(),
        "0".to_owned(),
    ];
    args.extend(["--buzzer".to_owned(), link]);
    if let Some(seed) = settings.seed {
        args.extend(["--seed".to_owned(), seed.to_string()]);
    }
    let (iopin, options) = parse::<IoPin, _, _>(args).map_err(usage)?;
    let iopin = Server::start(iopin, &options).await?;

    let (clock, options) = parse::<Clock, _, _>([
        "-s".to_owned(),
        HOST.to_owned(),
        "-p".to_owned(),
        iopin.local_addr().port().to_string(),
        "-t".to_owned(),
        settings.tacks.to_string(),
        "-d".to_owned(),
        settings.delay.to_string(),
    ])
    .map_err(usage)?;
    let report = drive(clock, &options, shutdown).await;

    let iopin = iopin.stop().await;
    let buzzer = buzzer.stop().await;
    let report = report?;
    Ok(Summary {
        ticks: report.sent,
        acks: report.acked,
        bits: iopin.drawn,
        buzzes: buzzer.buzzes,
    })
}

/// A setting that the circuit passed on and a sketch rejected.
fn usage(err: clap::Error) -> Error {
    Error::Setup(err.to_string())
}
