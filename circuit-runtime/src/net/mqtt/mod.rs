//! MQTT, the wire of the IoT world: a broker's URL (`url`), links that
//! publish to a broker, sketches fed by a broker's topics, and signals
//! published for dashboards such as Home Assistant (`signals`,
//! `home_assistant`).

#[cfg(feature = "mqtt")]
pub(crate) mod connection;
#[cfg(feature = "mqtt")]
pub(crate) mod event_loop;
#[cfg(feature = "mqtt")]
pub(crate) mod home_assistant;
#[cfg(feature = "mqtt")]
pub(crate) mod packets;
#[cfg(feature = "mqtt")]
pub(crate) mod publish;
pub(crate) mod reply;
#[cfg(feature = "mqtt")]
pub(crate) mod request;
#[cfg(feature = "mqtt")]
pub(crate) mod session;
#[cfg(feature = "mqtt")]
pub(crate) mod signals;
#[cfg(feature = "mqtt")]
pub(crate) mod subscribe;
pub(crate) mod subscriptions;
#[cfg(feature = "mqtt")]
pub(crate) mod ticks;
pub(crate) mod url;

#[cfg(feature = "mqtt")]
pub(crate) use signals::Signals;

/// Without the `mqtt` feature no `--mqtt` URL parses, so no publisher is
/// ever started; this stands in for one so that callers need no `cfg`.
#[cfg(not(feature = "mqtt"))]
pub(crate) struct Signals;

#[cfg(not(feature = "mqtt"))]
impl Signals {
    /// Never called: `--mqtt` was refused when its URL was parsed.
    pub(crate) fn start(
        _url: &url::MqttUrl,
        _home_assistant: bool,
        _circuit: &str,
        _sketches: &[String],
        _trace: &std::sync::Arc<crate::observe::trace::Trace>,
    ) -> Result<Signals, String> {
        Err(
            crate::base::features::require(crate::base::features::Feature::Mqtt, "--mqtt")
                .err()
                .unwrap_or_default(),
        )
    }

    /// Nothing to stop.
    pub(crate) async fn stop(self) {}
}
