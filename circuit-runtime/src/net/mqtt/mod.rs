//! MQTT, the wire of the IoT world: a broker's URL (`url`), links that
//! publish to a broker, sketches fed by a broker's topics, and signals
//! published for dashboards such as Home Assistant.

#[cfg(feature = "mqtt")]
pub(crate) mod event_loop;
pub(crate) mod reply;
#[cfg(feature = "mqtt")]
pub(crate) mod session;
#[cfg(feature = "mqtt")]
pub(crate) mod subscribe;
pub(crate) mod subscriptions;
pub(crate) mod url;
