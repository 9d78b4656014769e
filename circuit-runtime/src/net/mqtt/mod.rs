//! MQTT, the wire of the IoT world: a broker's URL (`url`), links that
//! publish to a broker, sketches fed by a broker's topics, and signals
//! published for dashboards such as Home Assistant.

pub(crate) mod url;
