//! How a run is watched and wired: `-q/--quiet`, `--seed`, `--vcd`, `--web`,
//! `--metrics`, `--mqtt` and `--home-assistant`, and for a circuit `--sockets` and `--sim`.

use std::path::PathBuf;

use clap::{value_parser, Arg, ArgMatches};

use crate::app::flags::{flag, optional, switch, switched};
use crate::base::error::{Error, Result};
use crate::base::features::{require, Feature};
use crate::net::mqtt::url::{MqttUrl, TopicUse};

/// `-q/--quiet`.
pub(crate) const QUIET: &str = "quiet";
/// `--seed N`.
pub(crate) const SEED: &str = "seed";
/// `--vcd FILE`.
pub(crate) const VCD: &str = "vcd";
/// `--web ADDR`.
pub(crate) const WEB: &str = "web";
/// `--metrics ADDR`.
pub(crate) const METRICS: &str = "metrics";
/// `--mqtt URL`.
pub(crate) const MQTT: &str = "mqtt";
/// `--home-assistant`.
pub(crate) const HOME_ASSISTANT: &str = "home-assistant";
/// `--sockets`.
pub(crate) const SOCKETS: &str = "sockets";
/// `--sim`.
pub(crate) const SIM: &str = "sim";

/// `-q/--quiet`: silences the per-message log lines.
pub(crate) fn quiet_arg() -> Arg {
    switch(QUIET)
        .short('q')
        .help("Silence the per-message log lines")
}

/// `--seed N`, as every sketch that draws random numbers has it.
pub(crate) fn seed_arg() -> Arg {
    flag(SEED)
        .value_name("N")
        .value_parser(value_parser!(u64))
        .help("Seed for the random draws: the same seed repeats a run")
}

/// `--vcd FILE`: record the signals as a Value Change Dump.
pub(crate) fn vcd_arg() -> Arg {
    flag(VCD)
        .value_name("FILE")
        .value_parser(value_parser!(PathBuf))
        .help("Record the signals (with their times) to FILE, a VCD for GTKWave or Surfer")
}

/// `--web ADDR`: serve the live logic-analyzer page.
pub(crate) fn web_arg() -> Arg {
    flag(WEB)
        .value_name("ADDR")
        .help("Serve a live logic-analyzer page on ADDR (such as 127.0.0.1:8080); it stays up after the run until Ctrl-C")
}

/// `--metrics ADDR`: serve Prometheus metrics and health.
pub(crate) fn metrics_arg() -> Arg {
    flag(METRICS)
        .value_name("ADDR")
        .help("Serve Prometheus metrics on ADDR (such as 127.0.0.1:9464) at /metrics, and health at /healthz (200 while serving, 503 while starting or stopping); after a run that ends by itself they stay up until Ctrl-C")
}

/// `--metrics ADDR` as given, if it was; refused (exit 2) by a build
/// without the `metrics` feature.
///
/// # Errors
/// [`Error::Setup`] naming the feature the build lacks.
pub(crate) fn metrics_address(matches: &mut ArgMatches) -> Result<Option<String>> {
    let address = optional::<String>(matches, METRICS);
    if address.is_some() {
        require(Feature::Metrics, "--metrics").map_err(Error::Setup)?;
    }
    Ok(address)
}

/// `--mqtt URL` and `--home-assistant`: publish the signals to a broker,
/// for Home Assistant too.
pub(crate) fn mqtt_args() -> [Arg; 2] {
    [
        flag(MQTT)
            .value_name("URL")
            .value_parser(|text: &str| MqttUrl::parse(text, TopicUse::Prefix))
            .help("Publish every signal, retained, to the broker of URL (mqtt://HOST[:PORT][/PREFIX]) as PREFIX/CIRCUIT/SKETCH/SIGNAL (PREFIX `circuit` unless given), with each sketch's availability on …/SKETCH/status (online, offline)"),
        switch(HOME_ASSISTANT)
            .requires(MQTT)
            .help("With --mqtt, also publish Home Assistant's discovery configs (homeassistant/…/config), so that each signal shows up as an entity of its sketch's device"),
    ]
}

/// Where a run's signals are published: `--mqtt URL`, `--home-assistant`.
#[derive(Clone, Debug)]
pub(crate) struct Published {
    /// The broker, and the prefix of the topics.
    pub(crate) url: MqttUrl,
    /// Whether Home Assistant's discovery configs are published too.
    pub(crate) home_assistant: bool,
}

/// `--mqtt` and `--home-assistant` as given, if `--mqtt` was.
pub(crate) fn published(matches: &mut ArgMatches) -> Option<Published> {
    let home_assistant = switched(matches, HOME_ASSISTANT);
    optional::<MqttUrl>(matches, MQTT).map(|url| Published {
        url,
        home_assistant,
    })
}

/// `--sockets`: wires between sketches of one process over loopback sockets.
pub(crate) fn sockets_arg() -> Arg {
    switch(SOCKETS).help("Wire the sketches of this process over loopback sockets instead of in-memory pipes (same messages, same acknowledgements)")
}

/// `--sim`: the circuit on a virtual clock.
pub(crate) fn sim_arg() -> Arg {
    switch(SIM).help("Run on simulated time: timers and timeouts jump to the next deadline whenever every sketch waits (a day of ticks in seconds, the same run as in real time)")
}
