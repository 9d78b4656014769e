//! What the live logic-analyzer page shows: the page itself (embedded at
//! build time) and the JSON messages of its event stream. Serving them is the
//! network layer's job (`net::web`).

use std::collections::BTreeMap;

use serde::ser::{Serialize, Serializer};

use crate::observe::trace::{Change, Event, Totals};
use crate::observe::value::Value;

/// The page, embedded at build time: no CDN, no network, no build step.
pub const PAGE: &str = include_str!("page.html");

/// What the page shows: its title, its rows, its tallies.
#[derive(Clone, Debug)]
pub struct Panel {
    /// Shown at the top of the page.
    pub title: String,
    /// The rows, in order: `sketch.name` and the kind (`bit`, `number` or `text`).
    pub signals: Vec<(String, String)>,
    /// The tallies shown above the rows, in order.
    pub tallies: Vec<Tally>,
    /// The signal whose rises light the buzz indicator.
    pub buzz: Option<String>,
}

impl Panel {
    /// A panel that derives its rows and tallies from the signals the sketches
    /// record: every signal gets a row when it first changes, and (unless the
    /// panel is given tallies) a tally of its rises (a bit) or of its samples
    /// (anything else).
    pub fn derived(title: impl Into<String>) -> Panel {
        Panel {
            title: title.into(),
            signals: Vec::new(),
            tallies: Vec::new(),
            buzz: None,
        }
    }

    /// Whether the rows come from the signals themselves.
    pub fn is_derived(&self) -> bool {
        self.signals.is_empty()
    }
}

/// One tally of the page: how many samples, or rises, a signal has had.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Tally {
    /// What the tally is called on the page.
    pub label: String,
    /// The signal it counts, `sketch.name`.
    pub signal: String,
    /// What it counts: every sample, or only low-to-high transitions.
    pub count: Counting,
}

/// What a [`Tally`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Counting {
    /// Every change recorded.
    Samples,
    /// Low-to-high transitions.
    Rises,
}

/// One message of the event stream, as the page reads it.
#[derive(serde::Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Message<'a> {
    /// The first message: what to draw and count, and totals of what fell out of the history.
    Hello {
        title: &'a str,
        signals: Vec<Lane<'a>>,
        counters: &'a [Tally],
        buzz: Option<&'a str>,
        before: BTreeMap<&'a str, Past<'a>>,
        /// Microseconds since recording started.
        now: u64,
    },
    /// A signal changed, at `t` microseconds.
    Change {
        t: u64,
        signal: String,
        value: Json<'a>,
    },
    /// The run is over.
    End { t: u64, summary: &'a str },
    /// A derived panel's new row, sent before the signal's first change.
    Lane { id: &'a str, kind: &'a str },
}

/// One row of the page.
#[derive(serde::Serialize)]
struct Lane<'a> {
    id: &'a str,
    kind: &'a str,
}

/// Totals of one signal's changes older than the history.
#[derive(serde::Serialize)]
struct Past<'a> {
    samples: u64,
    rises: u64,
    edges: u64,
    last: Option<Json<'a>>,
}

/// A value as the page draws it: bits as 0 or 1, numbers, text as a string.
struct Json<'a>(&'a Value);

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Bit(bit) => serializer.serialize_u8(u8::from(*bit)),
            Value::Unsigned(number) => serializer.serialize_u64(*number),
            Value::Signed(number) => serializer.serialize_i64(*number),
            Value::Real(number) => serializer.serialize_f64(*number),
            Value::Text(text) => serializer.serialize_str(text),
        }
    }
}

/// The text of a message; serialising these types cannot fail.
fn text(message: &Message<'_>) -> String {
    serde_json::to_string(message).unwrap_or_default()
}

/// The first message: what to draw and count, and totals of what fell out of the history.
pub fn hello(panel: &Panel, before: &[(String, Totals)], now_ns: u64) -> String {
    text(&Message::Hello {
        title: &panel.title,
        signals: panel
            .signals
            .iter()
            .map(|(id, kind)| Lane { id, kind })
            .collect(),
        counters: &panel.tallies,
        buzz: panel.buzz.as_deref(),
        before: before
            .iter()
            .map(|(id, totals)| {
                let past = Past {
                    samples: totals.samples,
                    rises: totals.rises,
                    edges: totals.edges,
                    last: totals.last.as_ref().map(Json),
                };
                (id.as_str(), past)
            })
            .collect(),
        now: now_ns / 1000,
    })
}

/// Any event as its message (times in microseconds).
pub fn event(event: &Event) -> String {
    match event {
        Event::Change(c) => change(c),
        Event::End { at, summary } => text(&Message::End {
            t: at / 1000,
            summary,
        }),
    }
}

/// A derived panel's row for signal `id`, drawn as `value`'s kind.
pub fn lane(id: &str, value: &Value) -> String {
    let kind = match value {
        Value::Bit(_) => "bit",
        Value::Text(_) => "text",
        _ => "number",
    };
    text(&Message::Lane { id, kind })
}

/// One change as a `change` message.
pub fn change(change: &Change) -> String {
    text(&Message::Change {
        t: change.at / 1000,
        signal: change.signal(),
        value: Json(&change.value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::trace::Trace;

    fn panel() -> Panel {
        Panel {
            title: "test".into(),
            signals: vec![("iopin.level".into(), "bit".into())],
            tallies: vec![Tally {
                label: "bits drawn".into(),
                signal: "iopin.level".into(),
                count: Counting::Samples,
            }],
            buzz: None,
        }
    }

    #[test]
    fn messages_are_the_documented_json() {
        let totals = Totals {
            samples: 3,
            rises: 1,
            edges: 2,
            last: Some(Value::Bit(false)),
        };
        assert_eq!(
            hello(&panel(), &[("iopin.level".to_owned(), totals)], 5_000),
            r#"{"type":"hello","title":"test","signals":[{"id":"iopin.level","kind":"bit"}],"counters":[{"label":"bits drawn","signal":"iopin.level","count":"samples"}],"buzz":null,"before":{"iopin.level":{"samples":3,"rises":1,"edges":2,"last":0}},"now":5}"#
        );
        let trace = Trace::new();
        trace.record("clock", "ack", Value::Text("[0, \"1\"]\n".into()));
        trace.record("room", "celsius", Value::Real(-2.5));
        let recent = trace.watch().recent;
        assert!(change(&recent[0]).ends_with(r#","signal":"clock.ack","value":"[0, \"1\"]\n"}"#));
        assert!(change(&recent[1]).ends_with(r#","signal":"room.celsius","value":-2.5}"#));
        assert_eq!(
            lane("iopin.level", &Value::Bit(true)),
            r#"{"type":"lane","id":"iopin.level","kind":"bit"}"#
        );
        assert_eq!(
            lane("room.celsius", &Value::Real(1.0)),
            r#"{"type":"lane","id":"room.celsius","kind":"number"}"#
        );
        assert!(Panel::derived("any").is_derived() && !panel().is_derived());
    }
}
