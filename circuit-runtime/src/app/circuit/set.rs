//! `--set SKETCH.KEY=VALUE`: a value of a circuit file's sketch given on the
//! command line instead of in the file, written as its flag takes it. It
//! replaces the file's value and is checked with the file's own (`file`);
//! a mistake in it is reported by its `--set`, as a file's by its line.

use std::fmt;

use clap::{Arg, ArgAction};

use crate::app::circuit::toml_file::Value;
use crate::app::flags::flag;

/// `--set SKETCH.KEY=VALUE`.
pub(crate) const SET: &str = "set";

/// `--set`, repeatable.
pub(crate) fn set_arg() -> Arg {
    flag(SET)
        .value_name("SKETCH.KEY=VALUE")
        .action(ArgAction::Append)
        .value_parser(Set::parse)
        .help("Give sketch SKETCH's setting KEY (or a framework option, such as ping-interval) this VALUE instead of the file's, written as its flag takes it (a list: a,b); checked as the file is; repeatable")
}

/// One `--set`: a key of a sketch's table and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Set {
    /// The sketch's name in the circuit.
    pub(crate) sketch: String,
    /// The key: a setting's or an option's long name, or `to` or `host`.
    pub(crate) key: String,
    /// The value, as its flag would take it.
    pub(crate) value: String,
}

impl Set {
    /// Reads `SKETCH.KEY=VALUE` (the value may hold `=` and `.`; a sketch's
    /// name holds neither).
    ///
    /// # Errors
    /// Text of another shape, in words.
    pub(crate) fn parse(text: &str) -> Result<Set, String> {
        let shape = || format!("{text:?} is not SKETCH.KEY=VALUE, such as clock.tacks=20");
        let (place, value) = text.split_once('=').ok_or_else(shape)?;
        let (sketch, key) = place.split_once('.').ok_or_else(shape)?;
        if sketch.is_empty() || key.is_empty() {
            return Err(shape());
        }
        Ok(Set {
            sketch: sketch.to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
        })
    }

    /// The value as the file would write it, for a key that is a switch
    /// (`true` and `false` are booleans) or that takes a list (split at
    /// commas, as its flag is); else a string, which the key's parser reads
    /// as the file's numbers are read.
    pub(crate) fn written(&self, switch: bool, repeats: bool) -> Value {
        match self.value.as_str() {
            "true" if switch => Value::Boolean(true),
            "false" if switch => Value::Boolean(false),
            list if repeats => Value::Array(
                list.split(',')
                    .map(|item| Value::String(item.to_owned()))
                    .collect(),
            ),
            one => Value::String(one.to_owned()),
        }
    }
}

impl fmt::Display for Set {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}={}", self.sketch, self.key, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_sketch_dot_key_equals_value() {
        let set = Set::parse("iopin.buzzer=ws://h:1/pin?a=b").unwrap();
        assert_eq!(
            (set.sketch.as_str(), set.key.as_str(), set.value.as_str()),
            ("iopin", "buzzer", "ws://h:1/pin?a=b")
        );
        assert_eq!(set.to_string(), "iopin.buzzer=ws://h:1/pin?a=b");
        assert_eq!(Set::parse("clock.tacks=").unwrap().value, "");
        for wrong in ["clock.tacks", "tacks=3", ".tacks=3", "clock.=3"] {
            assert!(Set::parse(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn a_value_is_written_as_the_key_takes_it() {
        let set = |value: &str| Set::parse(&format!("s.k={value}")).unwrap();
        assert_eq!(set("true").written(true, false), Value::Boolean(true));
        assert_eq!(
            set("true").written(false, false),
            Value::String("true".into())
        );
        assert_eq!(
            set("a,b").written(false, true),
            Value::Array(vec![Value::String("a".into()), Value::String("b".into())])
        );
        assert_eq!(
            set("a,b").written(false, false),
            Value::String("a,b".into())
        );
    }
}
