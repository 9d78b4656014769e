//! A circuit file's TOML as written, every key and value with its place.
//!
//! Read with toml's own span-keeping parser (`DeTable`) and shaped here by
//! hand: no serde derive, whose compile time every sketch would pay. What
//! the file means is `file`'s; here is only what it is made of, and the
//! [`Diagnostic`] both report (here, below `file`, so that neither imports
//! the other both ways).

use std::collections::BTreeMap;
use std::ops::Range;

use toml::de::{DeFloat, DeInteger, DeTable, DeValue};
use toml::Spanned;

/// One mistake in a circuit file, at a place in it (or in a `--set` given with it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Diagnostic {
    /// The bytes of the file it is about.
    pub(crate) span: Range<usize>,
    /// The `--set` it is about instead, by its place among them.
    pub(crate) set: Option<usize>,
    /// What is wrong, and what to write instead.
    pub(crate) message: String,
}

/// A diagnostic at `span`.
pub(crate) fn at(span: Range<usize>, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        span,
        set: None,
        message: message.into(),
    }
}

/// A value as written. Numbers are kept as the text a setting's parser
/// reads: the decimal text of the number TOML wrote (`0x10` is "16",
/// `1_000` is "1000", `0.50` is "0.5", `1e3` is "1000").
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// A string.
    String(String),
    /// An integer or a float, as text.
    Number(String),
    /// `true` or `false`.
    Boolean(bool),
    /// A list.
    Array(Vec<Value>),
    /// A table, inline or not.
    Table(BTreeMap<String, Value>),
    /// A date or a time, which no part of a circuit takes.
    Datetime,
}

/// A table whose keys and values keep their places.
pub(crate) type Table = BTreeMap<Spanned<String>, Spanned<Value>>;

/// The file as written.
#[derive(Default)]
pub(crate) struct File {
    /// `name = "…"`.
    pub(crate) name: Option<Spanned<String>>,
    /// `about = "…"`.
    pub(crate) about: Option<String>,
    /// `[sketches.NAME]`, each a table of settings.
    pub(crate) sketches: BTreeMap<Spanned<String>, Table>,
    /// `[summary]`.
    pub(crate) summary: Table,
    /// `mqtt = "mqtt://…"`: where the signals are published, as `--mqtt`.
    pub(crate) mqtt: Option<Spanned<String>>,
    /// `home-assistant = true`: with Home Assistant's configs, as `--home-assistant`.
    pub(crate) home_assistant: Option<Spanned<bool>>,
}

/// The keys a circuit file may have at its top.
const FIELDS: &str = "`name`, `about`, `sketches`, `summary`, `mqtt`, `home-assistant`";

/// Reads `text` as a circuit file's TOML; `others` are keys of the file
/// beside the circuit's (a scenario's `send`, say), left to its reader.
///
/// # Errors
/// A syntax error alone (the parser stops at it), or every key and value
/// that has not the shape of a circuit file, in the order of the file.
pub(crate) fn parse(text: &str, others: &[&str]) -> Result<File, Vec<Diagnostic>> {
    let root = DeTable::parse(text).map_err(|err| {
        let message = err.message().trim();
        let message = if message == "duplicate key" {
            "this name is taken already: every sketch (and every setting of one) needs a name of its own".to_owned()
        } else {
            message.to_owned()
        };
        vec![at(err.span().unwrap_or(0..0), message)]
    })?;
    let mut errors = Vec::new();
    let mut file = File::default();
    for (key, value) in root.get_ref() {
        let span = value.span();
        match &**key.get_ref() {
            "name" => {
                let name = string(
                    value,
                    "`name` takes a string, the circuit's name",
                    &mut errors,
                );
                file.name = name.map(|name| Spanned::new(span, name));
            }
            "about" => {
                let about = "`about` takes a string, what the circuit is for";
                file.about = string(value, about, &mut errors);
            }
            "sketches" => file.sketches = sketches(value, &mut errors),
            "summary" => {
                let summary =
                    "`summary` is a table of counts, [summary] then label = \"sketch.name\"";
                file.summary = table(value, summary, &mut errors);
            }
            "mqtt" => {
                let url = "`mqtt` takes a string, the broker's URL (mqtt://HOST[:PORT][/PREFIX])";
                file.mqtt = string(value, url, &mut errors).map(|url| Spanned::new(span, url));
            }
            "home-assistant" => match value.get_ref() {
                DeValue::Boolean(on) => file.home_assistant = Some(Spanned::new(span, *on)),
                other => errors.push(at(
                    span,
                    format!("`home-assistant` is `true` or `false`, not {}", a(other)),
                )),
            },
            other if others.contains(&other) => {}
            unknown => {
                let theirs: String = others.iter().map(|key| format!(", `{key}`")).collect();
                errors.push(at(
                    key.span(),
                    format!("unknown field `{unknown}`, expected one of {FIELDS}{theirs}"),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(file)
    } else {
        errors.sort_by_key(|error| error.span.start);
        Err(errors)
    }
}

/// The string `value`, or `why` it is not one.
fn string(value: &Spanned<DeValue<'_>>, why: &str, errors: &mut Vec<Diagnostic>) -> Option<String> {
    match value.get_ref() {
        DeValue::String(text) => Some(text.clone().into_owned()),
        other => {
            errors.push(at(value.span(), format!("{why}, not {}", a(other))));
            None
        }
    }
}

/// `[sketches]`: one table of settings per sketch.
fn sketches(
    value: &Spanned<DeValue<'_>>,
    errors: &mut Vec<Diagnostic>,
) -> BTreeMap<Spanned<String>, Table> {
    let DeValue::Table(entries) = value.get_ref() else {
        errors.push(at(
            value.span(),
            format!(
                "`sketches` holds one table per sketch, [sketches.NAME], not {}",
                a(value.get_ref())
            ),
        ));
        return BTreeMap::new();
    };
    let mut sketches = BTreeMap::new();
    for (key, table) in entries {
        let name = key.get_ref();
        let why = format!("sketch `{name}` is a table of its settings, [sketches.{name}]");
        let settings = self::table(table, &why, errors);
        sketches.insert(owned(key), settings);
    }
    sketches
}

/// The table `value`, each of its keys and values with its place.
pub(crate) fn table(
    value: &Spanned<DeValue<'_>>,
    why: &str,
    errors: &mut Vec<Diagnostic>,
) -> Table {
    let DeValue::Table(entries) = value.get_ref() else {
        errors.push(at(
            value.span(),
            format!("{why}, not {}", a(value.get_ref())),
        ));
        return Table::new();
    };
    entries
        .iter()
        .map(|(key, item)| {
            let converted = convert(item, errors);
            (owned(key), Spanned::new(item.span(), converted))
        })
        .collect()
}

/// Key `key`, owned.
fn owned(key: &Spanned<std::borrow::Cow<'_, str>>) -> Spanned<String> {
    Spanned::new(key.span(), key.get_ref().clone().into_owned())
}

/// `value` as a [`Value`]; a number that does not fit is reported at its place.
fn convert(value: &Spanned<DeValue<'_>>, errors: &mut Vec<Diagnostic>) -> Value {
    let span = value.span();
    match value.get_ref() {
        DeValue::String(text) => Value::String(text.clone().into_owned()),
        DeValue::Integer(number) => Value::Number(integer(number, span, errors)),
        DeValue::Float(number) => Value::Number(float(number, span, errors)),
        DeValue::Boolean(flag) => Value::Boolean(*flag),
        DeValue::Datetime(_) => Value::Datetime,
        DeValue::Array(items) => {
            Value::Array(items.iter().map(|item| convert(item, errors)).collect())
        }
        DeValue::Table(entries) => Value::Table(
            entries
                .iter()
                .map(|(key, item)| (key.get_ref().clone().into_owned(), convert(item, errors)))
                .collect(),
        ),
    }
}

/// An integer's decimal text, as an `i64` prints it: TOML's integers are
/// 64-bit and signed.
fn integer(number: &DeInteger<'_>, span: Range<usize>, errors: &mut Vec<Diagnostic>) -> String {
    match i64::from_str_radix(number.as_str(), number.radix()) {
        Ok(number) => number.to_string(),
        Err(_) => {
            errors.push(at(
                span,
                format!("{number} is out of TOML's integer range (64 bits, signed); write it in quotes, as a string"),
            ));
            String::new()
        }
    }
}

/// A float's text, as an `f64` prints it (`NaN`, `inf` and `-inf` included).
fn float(number: &DeFloat<'_>, span: Range<usize>, errors: &mut Vec<Diagnostic>) -> String {
    match number.as_str().parse::<f64>() {
        // A finite number too large for an f64 parses as an infinity.
        Ok(parsed) if !parsed.is_infinite() || number.as_str().contains("inf") => {
            parsed.to_string()
        }
        _ => {
            errors.push(at(
                span,
                format!("{number} is out of a 64-bit float's range"),
            ));
            String::new()
        }
    }
}

/// What `value` is, in words: "an integer", "a list".
pub(crate) fn a(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date or a time",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of setting `x` of sketch `s`, written as `written`.
    fn value(written: &str) -> Result<Value, Vec<Diagnostic>> {
        let file = parse(&format!("[sketches.s]\nx = {written}\n"), &[])?;
        let (_, table) = file.sketches.into_iter().next().unwrap();
        Ok(table.into_values().next().unwrap().into_inner())
    }

    #[test]
    fn numbers_are_the_text_rust_prints_for_them() {
        for (written, text) in [
            ("20", "20"),
            ("+7", "7"),
            ("-0", "0"),
            ("1_000", "1000"),
            ("0x1F", "31"),
            ("0o17", "15"),
            ("0b101", "5"),
            ("0.5", "0.5"),
            ("0.50", "0.5"),
            ("3.0", "3"),
            ("1e3", "1000"),
            ("1_0.2_5", "10.25"),
            ("1E-7", "0.0000001"),
            ("-0.0", "-0"),
            ("inf", "inf"),
            ("-inf", "-inf"),
            ("nan", "NaN"),
        ] {
            assert_eq!(
                value(written),
                Ok(Value::Number(text.to_owned())),
                "{written}"
            );
        }
        let too_large = value("9223372036854775808").unwrap_err();
        assert!(too_large[0].message.contains("out of TOML's integer range"));
        assert!(value("1e999").unwrap_err()[0].message.contains("out of"));
    }

    #[test]
    fn every_key_and_value_out_of_shape_is_reported_where_it_is() {
        let text = "nmae = 1\nname = 2\nsummary = [1]\n[sketches]\ns = true\n";
        let errors = parse(text, &[]).err().unwrap();
        let said: Vec<(usize, &str)> = errors
            .iter()
            .map(|error| (error.span.start, error.message.as_str()))
            .collect();
        assert_eq!(
            said,
            [
                (0, "unknown field `nmae`, expected one of `name`, `about`, `sketches`, `summary`, `mqtt`, `home-assistant`"),
                (16, "`name` takes a string, the circuit's name, not an integer"),
                (28, "`summary` is a table of counts, [summary] then label = \"sketch.name\", not a list"),
                (47, "sketch `s` is a table of its settings, [sketches.s], not a boolean"),
            ]
        );
    }

    #[test]
    fn a_syntax_error_is_the_parsers_and_a_taken_name_said_plainly() {
        let unclosed = parse("[sketches.a\n", &[]).err().unwrap();
        assert!(unclosed[0].message.starts_with("unclosed table"));
        let taken = parse("[sketches.a]\n[sketches.a]\n", &[]).err().unwrap();
        assert_eq!(taken[0].span.start, 23);
        assert!(taken[0].message.starts_with("this name is taken already"));
    }
}
