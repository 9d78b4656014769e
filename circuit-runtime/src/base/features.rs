//! Which optional parts this build of the runtime has (its cargo features),
//! and the one wording of the error for a part it lacks.

/// circuit-runtime's cargo feature `feature` is on in this build.
pub const fn enabled(feature: Feature) -> bool {
    match feature {
        Feature::Tls => cfg!(feature = "tls"),
        Feature::Discovery => cfg!(feature = "discovery"),
        Feature::Dns => cfg!(feature = "dns"),
        Feature::Sim => cfg!(feature = "sim"),
        Feature::Mqtt => cfg!(feature = "mqtt"),
        Feature::Commands => cfg!(feature = "commands"),
        Feature::Metrics => cfg!(feature = "metrics"),
    }
}

/// An optional part of the runtime, behind a cargo feature of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// `tls`: wss://, certificates (rustls with ring).
    Tls,
    /// `discovery`: sketches found by name over multicast DNS-SD.
    Discovery,
    /// `dns`: names resolved through a DNS server's SRV records.
    Dns,
    /// `sim`: simulated time on tokio's paused clock.
    Sim,
    /// `mqtt`: links to an MQTT broker, subscriptions, signals on a broker.
    Mqtt,
    /// `commands`: programs a circuit file starts as sketches (`command = [...]`).
    Commands,
    /// `metrics`: Prometheus metrics and health on `--metrics ADDR`.
    Metrics,
}

impl Feature {
    /// The feature's name in `Cargo.toml`.
    pub const fn name(self) -> &'static str {
        match self {
            Feature::Tls => "tls",
            Feature::Discovery => "discovery",
            Feature::Dns => "dns",
            Feature::Sim => "sim",
            Feature::Mqtt => "mqtt",
            Feature::Commands => "commands",
            Feature::Metrics => "metrics",
        }
    }
}

/// `Ok` when the build has `feature`, else why `what` cannot be used:
/// "wss:// needs circuit-runtime's \"tls\" feature".
///
/// # Errors
/// The sentence above, when the feature is off.
pub fn require(feature: Feature, what: &str) -> Result<(), String> {
    if enabled(feature) {
        Ok(())
    } else {
        Err(missing(feature, what))
    }
}

/// "wss:// needs circuit-runtime's \"tls\" feature (in Cargo.toml: …)".
pub fn missing(feature: Feature, what: &str) -> String {
    let name = feature.name();
    format!(
        "{what} needs circuit-runtime's \"{name}\" feature, which this program was built without (in its Cargo.toml: circuit-runtime = {{ version = \"…\", features = [\"{name}\"] }})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_names_the_feature_and_the_cure() {
        let said = missing(Feature::Tls, "wss://");
        assert!(said.starts_with("wss:// needs circuit-runtime's \"tls\" feature"));
        assert!(said.contains("features = [\"tls\"]"));
    }
}
