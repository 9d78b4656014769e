//! The frames of the signal stream (`/_circuit/signals`): one text frame
//! each, its fields apart by tabs, its first field saying which.
//!
//! From the sketch: `hello SKETCH RUN` first (`RUN` tells its process's
//! recording from a restart's), then `change T NAME KIND VALUE` or
//! `event T NAME KIND VALUE` for each change of a signal or of an event lane,
//! and `pong T0 T1 T2` to each ping. From the recorder: `ping T0`. Times are
//! nanoseconds since the Unix epoch by the clock of the side that took them;
//! `KIND` is `bit` (`0`/`1`), `unsigned`, `signed`, `real` or `text` (with
//! `%`, tabs, spaces and line ends written `%XX`).

use crate::observe::value::Value;

/// The path every sketch serves its signal stream on. Paths under
/// `/_circuit/` are the framework's: a sketch's own channels are not there.
pub(crate) const PATH: &str = "/_circuit/signals";

/// One frame of the signal stream.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Frame {
    /// The stream's first frame: whose it is, and which recording of its process.
    Hello {
        /// The sketch.
        sketch: String,
        /// Its process's recording's start on its wall clock.
        run: u64,
    },
    /// A change: of a signal, or (`event`) of an event lane.
    Change {
        /// When, by the sketch's clock.
        at: u64,
        /// The signal's name within its sketch.
        name: String,
        /// Its new value.
        value: Value,
        /// Whether it is an event lane's (kept every time).
        event: bool,
    },
    /// The recorder's half of a time exchange: when it sent this.
    Ping {
        /// By the recorder's clock.
        t0: u64,
    },
    /// The sketch's answer: the ping's time, when it came, when this left.
    Pong {
        /// The ping's.
        t0: u64,
        /// Its arrival, by the sketch's clock.
        t1: u64,
        /// This answer's sending, by the sketch's clock.
        t2: u64,
    },
}

impl Frame {
    /// The frame's text.
    pub(crate) fn text(&self) -> String {
        match self {
            Frame::Hello { sketch, run } => format!("hello\t{}\t{run}", escape(sketch)),
            Frame::Change {
                at,
                name,
                value,
                event,
            } => {
                let which = if *event { "event" } else { "change" };
                let (kind, value) = match value {
                    Value::Bit(bit) => ("bit", u8::from(*bit).to_string()),
                    Value::Unsigned(number) => ("unsigned", number.to_string()),
                    Value::Signed(number) => ("signed", number.to_string()),
                    Value::Real(number) => ("real", number.to_string()),
                    Value::Text(text) => ("text", escape(text)),
                };
                format!("{which}\t{at}\t{}\t{kind}\t{value}", escape(name))
            }
            Frame::Ping { t0 } => format!("ping\t{t0}"),
            Frame::Pong { t0, t1, t2 } => format!("pong\t{t0}\t{t1}\t{t2}"),
        }
    }

    /// The frame `text` is, or why not.
    pub(crate) fn parse(text: &str) -> Result<Frame, String> {
        let fields: Vec<&str> = text.split('\t').collect();
        let number = |at: usize| -> Result<u64, String> {
            let field = fields.get(at).copied().unwrap_or("");
            field
                .parse()
                .map_err(|_| format!("{field:?} is not a time in `{text}`"))
        };
        match (fields[0], fields.len()) {
            ("hello", 3) => Ok(Frame::Hello {
                sketch: unescape(fields[1]),
                run: number(2)?,
            }),
            (which @ ("change" | "event"), 5) => {
                let bad = || format!("{:?} is not a {} in `{text}`", fields[4], fields[3]);
                let value = match fields[3] {
                    "bit" => match fields[4] {
                        "0" => Value::Bit(false),
                        "1" => Value::Bit(true),
                        _ => return Err(bad()),
                    },
                    "unsigned" => Value::Unsigned(fields[4].parse().map_err(|_| bad())?),
                    "signed" => Value::Signed(fields[4].parse().map_err(|_| bad())?),
                    "real" => Value::Real(fields[4].parse().map_err(|_| bad())?),
                    "text" => Value::Text(unescape(fields[4]).into()),
                    kind => return Err(format!("no kind {kind:?} in `{text}`")),
                };
                Ok(Frame::Change {
                    at: number(1)?,
                    name: unescape(fields[2]),
                    value,
                    event: which == "event",
                })
            }
            ("ping", 2) => Ok(Frame::Ping { t0: number(1)? }),
            ("pong", 4) => Ok(Frame::Pong {
                t0: number(1)?,
                t1: number(2)?,
                t2: number(3)?,
            }),
            _ => Err(format!("not a frame of the signal stream: `{text}`")),
        }
    }
}

/// `text` with `%`, tabs, spaces and line ends written `%XX`.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' | ' ' | '\t' | '\n' | '\r' => escaped.push_str(&format!("%{:02X}", c as u32)),
            c => escaped.push(c),
        }
    }
    escaped
}

/// `text` with each `%XX` read back.
fn unescape(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        plain.push_str(&rest[..at]);
        match rest
            .get(at + 1..at + 3)
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            Some(byte) => {
                plain.push(char::from(byte));
                rest = &rest[at + 3..];
            }
            None => {
                plain.push('%');
                rest = &rest[at + 1..];
            }
        }
    }
    plain.push_str(rest);
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_reads_back_as_written() {
        let frames = [
            Frame::Hello {
                sketch: "iopin".into(),
                run: 1_700_000_000_000_000_000,
            },
            Frame::Change {
                at: 5,
                name: "level".into(),
                value: Value::Bit(true),
                event: false,
            },
            Frame::Change {
                at: 6,
                name: "in".into(),
                value: Value::Text("/pin%201\tand 100% more\n".into()),
                event: true,
            },
            Frame::Change {
                at: 7,
                name: "celsius".into(),
                value: Value::Real(-2.5),
                event: false,
            },
            Frame::Change {
                at: 8,
                name: "offset".into(),
                value: Value::Signed(-3),
                event: false,
            },
            Frame::Ping { t0: 9 },
            Frame::Pong {
                t0: 9,
                t1: 10,
                t2: 11,
            },
        ];
        for frame in frames {
            assert_eq!(Frame::parse(&frame.text()), Ok(frame.clone()), "{frame:?}");
        }
        assert_eq!(
            Frame::Ping { t0: 42 }.text(),
            "ping\t42",
            "the documented text"
        );
    }

    #[test]
    fn a_frame_that_is_not_one_says_why() {
        for bad in [
            "",
            "hello\tx",
            "ping\tsoon",
            "change\t1\tlevel\tbit\t2",
            "hi",
        ] {
            assert!(Frame::parse(bad).is_err(), "{bad:?}");
        }
    }
}
