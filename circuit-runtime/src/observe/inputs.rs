//! What a server sketch received, kept in its recording as a lane of its own
//! (`buzzer.in`: each message with its path), so that a recording is enough
//! to drive the sketch again; and reading a recording back: a sketch's inputs,
//! and the changes of its signals, for a replay and its check.
//!
//! The network layer only says what reached a loop (`received`); what a
//! recording keeps of it is decided here.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::observe::log;
use crate::observe::trace::Trace;
use crate::observe::value::Value;

/// The name of the lane that holds what a sketch received.
pub(crate) const LANE: &str = "in";

/// One message a sketch received: when (ns from the start of the recording),
/// on which path, and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Input {
    /// Nanoseconds from the start of the recording.
    pub at: u64,
    /// The path it came on.
    pub channel: String,
    /// The message.
    pub text: String,
}

/// Notes that the running sketch's loop received `text` on `channel`: a
/// recording that keeps changes keeps it (a count of signals alone does not
/// need it), so that the recording can drive the sketch again.
pub(crate) fn received(channel: &str, text: &str) {
    if let Some(trace) = Trace::installed().filter(|trace| trace.keeps_changes()) {
        let lane = encode(channel, text);
        // An event per message, even one that repeats the one before.
        trace.record_event(log::current(), LANE, Value::Text(lane.into()));
    }
}

/// `PATH MESSAGE` as a lane value: VCD strings hold no whitespace, so
/// whitespace and `%` are written `%XX`.
pub(crate) fn encode(channel: &str, text: &str) -> String {
    escape(&format!("{channel} {text}"))
}

/// `text` as a lane value holds it: whitespace and `%` written `%XX`.
pub(crate) fn escape(text: &str) -> String {
    let mut lane = String::with_capacity(text.len() + 3);
    for c in text.chars() {
        match c {
            '%' | ' ' | '\t' | '\n' | '\r' => lane.push_str(&format!("%{:02X}", c as u32)),
            c => lane.push(c),
        }
    }
    lane
}

/// The path and message of a lane value.
pub(crate) fn decode(lane: &str) -> (String, String) {
    let mut plain = String::with_capacity(lane.len());
    let mut rest = lane;
    while let Some(at) = rest.find('%') {
        plain.push_str(&rest[..at]);
        match u8::from_str_radix(rest.get(at + 1..at + 3).unwrap_or(""), 16) {
            Ok(byte) => {
                plain.push(char::from(byte));
                rest = &rest[at + 3..];
            }
            Err(_) => {
                plain.push('%');
                rest = &rest[at + 1..];
            }
        }
    }
    plain.push_str(rest);
    match plain.split_once(' ') {
        Some((channel, text)) => (channel.to_owned(), text.to_owned()),
        None => ("/".to_owned(), plain),
    }
}

/// A value as a recording reads back: bits `0`/`1`, numbers in decimal,
/// text with `_` for spaces.
pub(crate) fn as_recorded(value: &Value) -> String {
    match value {
        Value::Bit(bit) => u8::from(*bit).to_string(),
        Value::Unsigned(number) => number.to_string(),
        Value::Signed(number) => number.to_string(),
        Value::Real(number) => number.to_string(),
        Value::Text(text) => text.replace(' ', "_"),
    }
}

/// A recording read back: for each signal `sketch.name` it declares, its
/// changes (ns, value), none for a lane that was declared and never used.
pub type Changes = BTreeMap<String, Vec<(u64, String)>>;

/// Every change of every signal in the VCD file `path`.
///
/// # Errors
/// When the file cannot be read or is not a VCD file of circuit's.
pub fn read(path: &Path) -> Result<Changes, String> {
    let file = File::open(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let mut parser = vcd::Parser::new(BufReader::new(file));
    let header = parser
        .parse_header()
        .map_err(|err| format!("{} is not a VCD file: {err}", path.display()))?;
    let top = header.find_scope(&["circuit"]).ok_or_else(|| {
        format!(
            "{} has no circuit scope: not a recording of circuit's",
            path.display()
        )
    })?;
    let mut names = BTreeMap::new();
    let mut changes = Changes::new();
    for item in &top.items {
        let vcd::ScopeItem::Scope(sketch) = item else {
            continue;
        };
        for item in &sketch.items {
            if let vcd::ScopeItem::Var(var) = item {
                let name = format!("{}.{}", sketch.identifier, var.reference);
                // Declared is held, even with no change (a link that sent nothing).
                changes.insert(name.clone(), Vec::new());
                names.insert(var.code, name);
            }
        }
    }
    let mut now = 0;
    for command in parser {
        let command = command.map_err(|err| format!("{}: {err}", path.display()))?;
        let (code, value) = match command {
            vcd::Command::Timestamp(time) => {
                now = time;
                continue;
            }
            vcd::Command::ChangeScalar(code, value) => (code, value.to_string()),
            vcd::Command::ChangeVector(code, value) => {
                let number = value
                    .iter()
                    .fold(0u64, |n, bit| n << 1 | u64::from(bit == vcd::Value::V1));
                (code, number.to_string())
            }
            vcd::Command::ChangeReal(code, value) => (code, value.to_string()),
            vcd::Command::ChangeString(code, value) => (code, value),
            _ => continue,
        };
        if let Some(name) = names.get(&code) {
            changes.entry(name.clone()).or_default().push((now, value));
        }
    }
    Ok(changes)
}

/// What `sketch` received, in order, from a recording read back.
pub(crate) fn inputs_of(changes: &Changes, sketch: &str) -> Vec<Input> {
    changes
        .get(&format!("{sketch}.{LANE}"))
        .map(|lane| {
            lane.iter()
                .map(|(at, value)| {
                    let (channel, text) = decode(value);
                    Input {
                        at: *at,
                        channel,
                        text,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lane_value_keeps_path_and_message_whatever_they_hold() {
        for (channel, text) in [("/pin", "1"), ("/feed", "21.5 C, 50% humid\n"), ("/", "")] {
            let lane = encode(channel, text);
            assert!(!lane.contains(char::is_whitespace), "{lane}");
            assert_eq!(decode(&lane), (channel.to_owned(), text.to_owned()));
        }
    }
}
