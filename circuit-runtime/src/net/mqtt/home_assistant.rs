//! Home Assistant's MQTT discovery: the retained config that makes a signal
//! an entity (a `bool` a `binary_sensor`, a number or text a `sensor`) of a
//! device named after its sketch, with no YAML written by hand. The JSON is
//! written here, by hand: the runtime has no serde, and a config is a few
//! flat strings.

use crate::observe::value::Value;

/// The prefix Home Assistant discovers entities under, its default.
pub(crate) const DISCOVERY_PREFIX: &str = "homeassistant";

/// Where Home Assistant says it (re)started: `online` asks every device to
/// publish its configs again.
pub(crate) const STATUS_TOPIC: &str = "homeassistant/status";

/// What Home Assistant publishes on [`STATUS_TOPIC`] when it starts.
pub(crate) const BIRTH: &[u8] = b"online";

/// A sketch's availability while its connection is up, Home Assistant's
/// default `payload_available`.
pub(crate) const ONLINE: &str = "online";

/// A sketch's availability once it stopped or lost its connection, Home
/// Assistant's default `payload_not_available`.
pub(crate) const OFFLINE: &str = "offline";

/// The payload of a `bool` signal that is high, Home Assistant's default `payload_on`.
pub(crate) const ON: &str = "ON";

/// The payload of a `bool` signal that is low, Home Assistant's default `payload_off`.
pub(crate) const OFF: &str = "OFF";

/// What a signal's entity is for Home Assistant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Component {
    /// A bit: on or off.
    BinarySensor,
    /// A number or text: its state as text.
    Sensor,
}

impl Component {
    /// The component of a signal whose values are like `value`.
    pub(crate) fn of(value: &Value) -> Component {
        match value {
            Value::Bit(_) => Component::BinarySensor,
            _ => Component::Sensor,
        }
    }

    /// Its name in a discovery topic.
    fn name(self) -> &'static str {
        match self {
            Component::BinarySensor => "binary_sensor",
            Component::Sensor => "sensor",
        }
    }
}

/// The signal one config describes, and where its states and availability are.
pub(crate) struct Entity<'a> {
    /// The circuit the sketch is part of (the sketch's own name when alone).
    pub(crate) circuit: &'a str,
    /// The sketch that records the signal.
    pub(crate) sketch: &'a str,
    /// The signal's name within its sketch.
    pub(crate) signal: &'a str,
    /// What kind of entity it is.
    pub(crate) component: Component,
    /// Where its states are published.
    pub(crate) state_topic: &'a str,
    /// Where its sketch's `online` / `offline` is published.
    pub(crate) availability_topic: &'a str,
}

impl Entity<'_> {
    /// The device's identifier, shared by every signal of the sketch.
    fn device_id(&self) -> String {
        object_id(&format!("circuit_{}_{}", self.circuit, self.sketch))
    }

    /// `homeassistant/COMPONENT/NODE/OBJECT/config`: the node is the sketch's
    /// device, the object its signal, each only `[a-zA-Z0-9_-]`.
    pub(crate) fn config_topic(&self) -> String {
        format!(
            "{DISCOVERY_PREFIX}/{}/{}/{}/config",
            self.component.name(),
            self.device_id(),
            object_id(self.signal)
        )
    }

    /// The config's JSON: a stable `unique_id`, the topics, the payloads of
    /// a binary sensor, and the device (the sketch, of the circuit). No
    /// `object_id` (deprecated by Home Assistant): the entity's id comes
    /// from the device's name and the signal's, `binary_sensor.buzzer_buzz`.
    pub(crate) fn config(&self) -> String {
        let device = self.device_id();
        let unique_id = format!("{device}_{}", object_id(self.signal));
        let mut fields = vec![
            ("name", json_string(self.signal)),
            ("unique_id", json_string(&unique_id)),
            ("state_topic", json_string(self.state_topic)),
            ("availability_topic", json_string(self.availability_topic)),
            ("payload_available", json_string(ONLINE)),
            ("payload_not_available", json_string(OFFLINE)),
        ];
        if self.component == Component::BinarySensor {
            fields.push(("payload_on", json_string(ON)));
            fields.push(("payload_off", json_string(OFF)));
        }
        let device = format!(
            "{{\"identifiers\":[{}],\"name\":{},\"model\":{},\"manufacturer\":\"circuit\"}}",
            json_string(&device),
            json_string(self.sketch),
            json_string(self.circuit)
        );
        fields.push(("device", device));
        let body: Vec<String> = fields
            .iter()
            .map(|(key, value)| format!("\"{key}\":{value}"))
            .collect();
        format!("{{{}}}", body.join(","))
    }
}

/// `text` with every character Home Assistant refuses in a node or object
/// id (anything but `[a-zA-Z0-9_-]`) replaced by `_`.
pub(crate) fn object_id(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `text` as a JSON string, quotes included: `"` and `\` escaped, control
/// characters as `\n`, `\t`, … or `\u00XX`; everything else as is (JSON is UTF-8).
pub(crate) fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(json_string("buzz"), "\"buzz\"");
        assert_eq!(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(json_string("1\n2\t3\r"), "\"1\\n2\\t3\\r\"");
        assert_eq!(
            json_string("\u{1}\u{1f}\u{8}\u{c}"),
            "\"\\u0001\\u001f\\b\\f\""
        );
        assert_eq!(json_string("°C ✓"), "\"°C ✓\"");
        assert_eq!(json_string(""), "\"\"");
    }

    #[test]
    fn ids_keep_only_what_home_assistant_takes() {
        assert_eq!(object_id("buzzer.buzz"), "buzzer_buzz");
        assert_eq!(object_id("a-b_C9 é/+"), "a-b_C9____");
    }

    #[test]
    fn a_bit_is_a_binary_sensor_with_its_payloads() {
        let entity = Entity {
            circuit: "demo",
            sketch: "buzzer",
            signal: "buzz",
            component: Component::of(&Value::Bit(true)),
            state_topic: "circuit/demo/buzzer/buzz",
            availability_topic: "circuit/demo/buzzer/status",
        };
        assert_eq!(
            entity.config_topic(),
            "homeassistant/binary_sensor/circuit_demo_buzzer/buzz/config"
        );
        assert_eq!(
            entity.config(),
            concat!(
                "{\"name\":\"buzz\",\"unique_id\":\"circuit_demo_buzzer_buzz\",",
                "\"state_topic\":\"circuit/demo/buzzer/buzz\",",
                "\"availability_topic\":\"circuit/demo/buzzer/status\",",
                "\"payload_available\":\"online\",\"payload_not_available\":\"offline\",",
                "\"payload_on\":\"ON\",\"payload_off\":\"OFF\",",
                "\"device\":{\"identifiers\":[\"circuit_demo_buzzer\"],\"name\":\"buzzer\",",
                "\"model\":\"demo\",\"manufacturer\":\"circuit\"}}"
            )
        );
        let number = Component::of(&Value::Real(21.5));
        assert_eq!(number, Component::Sensor);
        assert_eq!(Component::of(&Value::Text("hi".into())), Component::Sensor);
    }
}
