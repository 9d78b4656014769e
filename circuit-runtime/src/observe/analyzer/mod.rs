//! What the live logic-analyzer page shows: the page itself (embedded at
//! build time) and the JSON messages of its event stream. Serving them is the
//! network layer's job (`net::web`).

use std::collections::BTreeMap;

use crate::observe::trace::{Change, Event, HostView, Totals};
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

/// One count of a circuit's summary line ("15 bits drawn"), shown as a tally
/// on the analyzer page: how many samples, or rises, a signal has had.
#[derive(Clone, Debug)]
pub struct Tally {
    /// What the tally is called on the page.
    pub label: String,
    /// The signal it counts, `sketch.name`.
    pub signal: String,
    /// What it counts: every sample, or only low-to-high transitions.
    pub count: Counting,
}

/// What a [`Tally`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counting {
    /// Every change recorded.
    Samples,
    /// Low-to-high transitions.
    Rises,
}

impl Counting {
    /// Its name in the event stream's JSON.
    fn name(self) -> &'static str {
        match self {
            Counting::Samples => "samples",
            Counting::Rises => "rises",
        }
    }
}

/// A JSON object written field by field, in the order given, so that each
/// message keeps the text it has always had. The messages are a handful of
/// flat objects of numbers and strings: written here, they cost a sketch's
/// build no JSON library.
struct Object(String);

impl Object {
    /// A message of the event stream: its first field, `type`, says which.
    fn message(kind: &str) -> Object {
        Object("{".to_owned()).field("type", kind)
    }

    /// An object with no field yet.
    fn new() -> Object {
        Object("{".to_owned())
    }

    /// Field `name`, whose value `json` is JSON text already.
    fn raw(mut self, name: &str, json: &str) -> Object {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        name.write(&mut self.0);
        self.0.push(':');
        self.0.push_str(json);
        self
    }

    /// Field `name` of value `value`.
    fn field(self, name: &str, value: impl Json) -> Object {
        let mut text = String::new();
        value.write(&mut text);
        self.raw(name, &text)
    }

    /// The object's text.
    fn end(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// A JSON array of `items`, each JSON text already.
fn array(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    format!("[{}]", items.join(","))
}

/// A value as the page draws it: bits as 0 or 1, numbers, text as a string
/// (a real that is not finite as `null`, as JSON has no such number).
fn json(value: &Value) -> &dyn Json {
    match value {
        Value::Bit(true) => &1u64,
        Value::Bit(false) => &0u64,
        Value::Unsigned(number) => number,
        Value::Signed(number) => number,
        Value::Real(number) => number,
        Value::Text(text) => text,
    }
}

/// A value that writes itself as JSON text.
trait Json {
    /// Appends its JSON text to `out`.
    fn write(&self, out: &mut String);
}

impl Json for str {
    /// A string, escaped as JSON asks: quotes, backslashes and control characters.
    fn write(&self, out: &mut String) {
        out.push('"');
        for c in self.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

impl<T: Json + ?Sized> Json for &T {
    fn write(&self, out: &mut String) {
        (**self).write(out);
    }
}

impl Json for String {
    fn write(&self, out: &mut String) {
        self.as_str().write(out);
    }
}

impl Json for std::sync::Arc<str> {
    fn write(&self, out: &mut String) {
        (**self).write(out);
    }
}

impl Json for u64 {
    fn write(&self, out: &mut String) {
        out.push_str(&self.to_string());
    }
}

impl Json for i64 {
    fn write(&self, out: &mut String) {
        out.push_str(&self.to_string());
    }
}

impl Json for f64 {
    /// The shortest text that reads back as the same number (`21.5`, `1.0`,
    /// `1e300`); JSON has no number for one that is not finite: `null`.
    fn write(&self, out: &mut String) {
        if self.is_finite() {
            out.push_str(&format!("{self:?}"));
        } else {
            out.push_str("null");
        }
    }
}

impl<T: Json> Json for Option<T> {
    fn write(&self, out: &mut String) {
        match self {
            Some(value) => value.write(out),
            None => out.push_str("null"),
        }
    }
}

/// A tally: `{"label", "signal", "count"}`.
fn tally(tally: &Tally) -> String {
    Object::new()
        .field("label", tally.label.as_str())
        .field("signal", tally.signal.as_str())
        .field("count", tally.count.name())
        .end()
}

/// Totals of one signal's changes older than the history.
fn past(totals: &Totals) -> String {
    Object::new()
        .field("samples", totals.samples)
        .field("rises", totals.rises)
        .field("edges", totals.edges)
        .field("last", totals.last.as_ref().map(json))
        .end()
}

/// The first message: what to draw and count, totals of what fell out of
/// the history, and `now`, microseconds since recording started.
pub fn hello(panel: &Panel, before: &[(String, Totals)], now_ns: u64) -> String {
    let lanes = panel.signals.iter().map(|(id, kind)| {
        Object::new()
            .field("id", id.as_str())
            .field("kind", kind.as_str())
            .end()
    });
    // One entry per signal, in the order of its name (the last one given wins).
    let before: BTreeMap<&str, &Totals> = before
        .iter()
        .map(|(id, totals)| (id.as_str(), totals))
        .collect();
    let mut pasts = Object::new();
    for (id, totals) in before {
        pasts = pasts.raw(id, &past(totals));
    }
    Object::message("hello")
        .field("title", panel.title.as_str())
        .raw("signals", &array(lanes))
        .raw("counters", &array(panel.tallies.iter().map(tally)))
        .field("buzz", panel.buzz.as_deref())
        .raw("before", &pasts.end())
        .field("now", now_ns / 1000)
        .end()
}

/// Any event as its message (times in microseconds).
pub fn event(event: &Event) -> String {
    match event {
        Event::Change(c) => change(c),
        Event::Hosts(views) => hosts(views),
        Event::End { at, summary } => Object::message("end")
            .field("t", at / 1000)
            .field("summary", &**summary)
            .end(),
    }
}

/// The other hosts whose sketches' changes are merged, as a `hosts`
/// message: each one's name, sketches, clock offset and its uncertainty
/// (microseconds, `null` before the first exchange) and since when it is
/// gone (`null` while it is not), so that the page groups its rows by host.
pub fn hosts(views: &[HostView]) -> String {
    let each = views.iter().map(|view| {
        Object::new()
            .field("host", view.host.as_str())
            .raw(
                "sketches",
                &array(view.sketches.iter().map(|sketch| {
                    let mut text = String::new();
                    sketch.write(&mut text);
                    text
                })),
            )
            // Signed microseconds, with a fraction: an offset is often below one.
            .field("offset", view.offset.map(|ns| ns as f64 / 1000.0))
            .field("uncertainty", view.uncertainty.map(|ns| ns as f64 / 1000.0))
            .field("gone", view.gone.map(|ns| ns / 1000))
            .end()
    });
    Object::message("hosts").raw("hosts", &array(each)).end()
}

/// A derived panel's row for signal `id`, drawn as `value`'s kind.
pub fn lane(id: &str, value: &Value) -> String {
    let kind = match value {
        Value::Bit(_) => "bit",
        Value::Text(_) => "text",
        _ => "number",
    };
    Object::message("lane")
        .field("id", id)
        .field("kind", kind)
        .end()
}

/// One change as a `change` message.
pub fn change(change: &Change) -> String {
    Object::message("change")
        .field("t", change.at / 1000)
        .field("signal", change.signal())
        .field("value", json(&change.value))
        .end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::trace::Trace;

    #[test]
    fn text_is_escaped_as_json_asks_and_numbers_read_back() {
        let mut out = String::new();
        "a \"quote\", a \\, a\ttab, a \u{1} and °C".write(&mut out);
        assert_eq!(out, r#""a \"quote\", a \\, a\ttab, a \u0001 and °C""#);
        let numbers: Vec<String> = [21.5, 1.0, -0.25, 1e300, f64::INFINITY]
            .iter()
            .map(|number| {
                let mut out = String::new();
                number.write(&mut out);
                out
            })
            .collect();
        assert_eq!(numbers, ["21.5", "1.0", "-0.25", "1e300", "null"]);
    }

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
    fn the_hosts_message_gives_each_hosts_offset_in_microseconds() {
        let views = [
            HostView {
                host: "h2".into(),
                sketches: vec!["iopin".into()],
                offset: Some(12_345_678),
                uncertainty: Some(400_000),
                gone: None,
            },
            HostView {
                host: "h3".into(),
                sketches: vec!["buzzer".into()],
                offset: None,
                uncertainty: None,
                gone: Some(3_200_000_000),
            },
        ];
        assert_eq!(
            hosts(&views),
            r#"{"type":"hosts","hosts":[{"host":"h2","sketches":["iopin"],"offset":12345.678,"uncertainty":400.0,"gone":null},{"host":"h3","sketches":["buzzer"],"offset":null,"uncertainty":null,"gone":3200000}]}"#
        );
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
        let end = Event::End {
            at: 7_000,
            summary: "2 \"buzzes\"".into(),
        };
        assert_eq!(
            event(&end),
            r#"{"type":"end","t":7,"summary":"2 \"buzzes\""}"#
        );
    }

    #[test]
    fn a_real_that_is_not_finite_is_null_as_json_has_no_such_number() {
        let trace = Trace::new();
        trace.record("room", "celsius", Value::Real(f64::NAN));
        let recent = trace.watch().recent;
        assert!(change(&recent[0]).ends_with(r#","value":null}"#));
    }
}
